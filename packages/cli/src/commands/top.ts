import type { Command } from "commander";
import { DEFAULT_TOP_LIMIT, MAX_NAMESPACE_LIMIT, backoffMs, sleep, type Period } from "@tally/core";
import { tallyClient, type TallyClient, type TopQuery, type TopReply } from "@tally/client";
import { withConnection, type FlagsOf } from "../connection.js";
import { Exit, bucketHeading, formatCount } from "../format.js";
import { int, periodArg, timeArg } from "../options.js";
import { printTable } from "../table.js";
import { warnGather } from "../warnings.js";

interface TopFlags {
  period: Period;
  at?: number | string;
  limit: number;
  minSeq?: number;
  json?: boolean;
}

/** How long `top` asks again while some shard does not answer, before it prints the partial reply. */
export const PARTIAL_RETRY_MS = 5000;

/**
 * `tally top`: a namespace's counters with the highest values in one bucket, as a table
 * (`--json`: the node's reply). A partial reply (some shard did not answer) is asked again
 * for a few seconds, then printed with a warning naming the missing shards, exit 3.
 */
export function registerTop(program: Command, flags: FlagsOf): void {
  program
    .command("top")
    .description("the counters of a namespace with the highest values in one bucket (exact, across every node)")
    .argument("<ns>", "namespace")
    .option("--period <period>", "all, minute, hour, day, week, month or year", periodArg, "all")
    .option("--at <time>", "a time inside the bucket (epoch ms or ISO-8601; default now)", timeArg)
    .option(`--limit <n>`, `how many counters, 1 to ${MAX_NAMESPACE_LIMIT}`, int("--limit"), DEFAULT_TOP_LIMIT)
    .option("--min-seq <seq>", "wait until the reply reflects every event up to this stream sequence", int("--min-seq"))
    .option("--json", "print the reply as JSON")
    .action(async (ns: string, o: TopFlags) => {
      const reply = await withConnection(flags(), (nc) =>
        topUntilWhole(tallyClient(nc), ns, o.period, {
          limit: o.limit,
          ...(o.at !== undefined ? { at: o.at } : {}),
          ...(o.minSeq !== undefined ? { minSeq: o.minSeq } : {}),
        }),
      );
      if (o.json) console.log(JSON.stringify(reply));
      else printTop(reply);
      warnGather(reply, "this top may leave out counters that belong at the top");
      if (reply.partial) process.exitCode = Exit.incomplete;
    });
}

/** `top`, asked again while the reply is partial, for up to {@link PARTIAL_RETRY_MS}; the last reply. */
async function topUntilWhole(client: TallyClient, ns: string, period: Period, q: TopQuery): Promise<TopReply> {
  const deadline = Date.now() + PARTIAL_RETRY_MS;
  for (let attempt = 0; ; attempt++) {
    const reply = await client.top(ns, period, q);
    const wait = backoffMs(attempt, { baseMs: 100, maxMs: 1000 });
    if (reply.partial !== true || Date.now() + wait > deadline) return reply;
    await sleep(wait);
  }
}

/**
 * ```
 * top 2 in web, day 2026-11-20 (UTC)
 * RANK  NAME         VALUE
 * 1     example.com    120
 * 2     home            80
 * ```
 */
function printTop(r: TopReply): void {
  const where = `${r.ns}, ${bucketHeading(r.period, r.bucket)}${r.period === "all" ? "" : " (UTC)"}`;
  if (r.items.length === 0) {
    console.log(`nothing counted in ${where}`);
    return;
  }
  console.log(`top ${r.items.length} in ${where}`);
  printTable(
    ["RANK", "NAME", "VALUE"],
    r.items.map((it, i) => [String(i + 1), it.name, formatCount(it.value)]),
    { align: ["right", "left", "right"] },
  );
}
