import type { Command } from "commander";
import { DEFAULT_LIST_LIMIT, MAX_NAMESPACE_LIMIT, type Period } from "@tally/core";
import { ClientError, ClientErrorCode, tallyClient, type ListQuery } from "@tally/client";
import { withConnection, type FlagsOf } from "../connection.js";
import { CliError, CliErrorCode } from "../errors.js";
import { Exit, bucketHeading, bucketOf, formatCount } from "../format.js";
import { int, periodArg, timeArg } from "../options.js";
import { printTable } from "../table.js";
import { warnGather } from "../warnings.js";

interface ListFlags {
  period: Period;
  at?: number | string;
  prefix?: string;
  limit: number;
  after?: string;
  minSeq?: number;
  json?: boolean;
}

/** What `tally list` found: a {@link ListReply}'s shape, over as many pages as it took. */
interface Listing {
  ns: string;
  period: Period;
  bucket?: string;
  names: string[];
  /** The last name shown, when more follow (or the listing stopped partial): pass it as `--after`. */
  next?: string;
  partial?: true;
  missingShards?: number[];
}

/**
 * `tally list`: a namespace's names (those with a value in the bucket; for `all`, every
 * name), sorted, at most `--limit` of them; the client's iterator pages through the nodes'
 * replies. When more follow, it says how to get them (`--after`). A page some shard would
 * not answer stops the listing: what came before is printed (complete up to there), with
 * a warning, exit 3.
 */
export function registerList(program: Command, flags: FlagsOf): void {
  program
    .command("list")
    .description("the names of a namespace with a value in one bucket (all: every name), sorted, paged")
    .argument("<ns>", "namespace")
    .option("--period <period>", "all, minute, hour, day, week, month or year", periodArg, "all")
    .option("--at <time>", "a time inside the bucket (epoch ms or ISO-8601; default now)", timeArg)
    .option("--prefix <prefix>", "only names starting with this")
    .option("--limit <n>", "show at most this many names (fetched in pages)", int("--limit"), DEFAULT_LIST_LIMIT)
    .option("--after <name>", "start after this name (the last one a previous list showed)")
    .option("--min-seq <seq>", "wait until the reply reflects every event up to this stream sequence", int("--min-seq"))
    .option("--json", 'print {"ns","period","bucket","names","next"} as JSON')
    .action(async (ns: string, o: ListFlags) => {
      if (o.limit < 1) throw new CliError(CliErrorCode.BAD_OPTION, "--limit must be at least 1");
      // One `at` for every page and for the heading, even when none was given.
      const at = o.at ?? Date.now();
      const listing = await withConnection(flags(), (nc) =>
        collect(tallyClient(nc).list(ns, o.period, query(o, at)), ns, o, at),
      );
      if (o.json) console.log(JSON.stringify(listing));
      else printListing(listing, o, at);
      if (listing.partial) {
        warnGather(
          listing,
          "the list stops there" + (listing.next !== undefined ? `, after ${JSON.stringify(listing.next)}` : ""),
        );
        process.exitCode = Exit.incomplete;
      }
    });
}

function query(o: ListFlags, at: number | string): ListQuery {
  return {
    at,
    // One more than shown tells whether more follow, in the same page when it fits.
    limit: Math.min(o.limit + 1, MAX_NAMESPACE_LIMIT),
    ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
    ...(o.after !== undefined ? { after: o.after } : {}),
    ...(o.minSeq !== undefined ? { minSeq: o.minSeq } : {}),
  };
}

/** Up to `o.limit` names from the iterator; a `PARTIAL` page ends the listing with what came before. */
async function collect(
  it: AsyncIterableIterator<string>,
  ns: string,
  o: ListFlags,
  at: number | string,
): Promise<Listing> {
  const bucket = bucketOf(o.period, at);
  const listing: Listing = { ns, period: o.period, ...(bucket !== undefined ? { bucket } : {}), names: [] };
  try {
    for await (const name of it) {
      if (listing.names.length === o.limit) {
        listing.next = listing.names.at(-1)!;
        break; // ends the iterator: no more pages are asked for
      }
      listing.names.push(name);
    }
  } catch (err) {
    if (!(err instanceof ClientError && err.code === ClientErrorCode.PARTIAL)) throw err;
    listing.partial = true;
    listing.missingShards = err.missingShards ?? [];
    const last = listing.names.at(-1) ?? o.after;
    if (last !== undefined) listing.next = last;
  }
  return listing;
}

/**
 * ```
 * 2 names in web, all time, starting with "checkout-"
 * NAME
 * checkout-a
 * checkout-b
 * ```
 */
function printListing(l: Listing, o: ListFlags, at: number | string): void {
  const where =
    `${l.ns}, ${bucketHeading(l.period, l.bucket)}${l.period === "all" ? "" : " (UTC)"}` +
    (o.prefix !== undefined ? `, starting with ${JSON.stringify(o.prefix)}` : "") +
    (o.after !== undefined ? `, after ${JSON.stringify(o.after)}` : "");
  if (l.names.length === 0) {
    console.log(`no names in ${where}`);
    return;
  }
  const count = formatCount(l.names.length);
  const more = l.next !== undefined && !l.partial;
  console.log(`${more ? `first ${count}` : count} name${l.names.length === 1 ? "" : "s"} in ${where}`);
  printTable(
    ["NAME"],
    l.names.map((n) => [n]),
  );
  if (more) console.log(`more follow: ${nextCommand(l, o, at)}`);
}

/** The command that lists the next names: the same query, `--after` the last name shown. */
function nextCommand(l: Listing, o: ListFlags, at: number | string): string {
  const args = ["tally", "list", l.ns];
  if (l.period !== "all") args.push("--period", l.period, "--at", l.bucket ?? String(at));
  if (o.prefix !== undefined) args.push("--prefix", o.prefix);
  if (o.limit !== DEFAULT_LIST_LIMIT) args.push("--limit", String(o.limit));
  args.push("--after", l.next!);
  return args.map(shellQuote).join(" ");
}

/** `word` as a POSIX shell word: as it is when safe, else in single quotes. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
