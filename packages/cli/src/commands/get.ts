import type { Command } from "commander";
import type { LogGapMark, Period, SeriesReply, ValueReply } from "@tally/core";
import { tallyClient } from "@tally/client";
import { sparkline } from "../chart.js";
import { withConnection, type FlagsOf } from "../connection.js";
import { CliError, CliErrorCode } from "../errors.js";
import { bucketHeading, bucketLabel, formatCount } from "../format.js";
import { int, periodArg, timeArg } from "../options.js";
import { printTable } from "../table.js";

interface GetFlags {
  period: Period;
  at?: number | string;
  from?: number | string;
  to?: number | string;
  minSeq?: number;
  json?: boolean;
}

/** Widest sparkline drawn (a longer series sums neighbouring buckets into one mark). */
const CHART_WIDTH = 60;

/**
 * `tally get`: reads a value (`web home, day 2026-11-20 (UTC): 3`) or, with `--from`/`--to`,
 * a series as a table of buckets plus a sparkline; `--json` prints the node's reply.
 */
export function registerGet(program: Command, flags: FlagsOf): void {
  program
    .command("get")
    .description("read a counter: all-time, one bucket, or a series (a table and a sparkline)")
    .argument("<ns>", "namespace")
    .argument("<name>", "counter name")
    .option("--period <period>", "all, minute, hour, day, week, month or year", periodArg, "all")
    .option("--at <time>", "a time inside the bucket (epoch ms or ISO-8601; default now)", timeArg)
    .option("--from <time>", "series start (with --to and a --period other than all)", timeArg)
    .option("--to <time>", "series end (with --from)", timeArg)
    .option("--min-seq <seq>", "wait until the reply reflects every event up to this stream sequence", int("--min-seq"))
    .option("--json", "print the reply as JSON")
    .action(async (ns: string, name: string, o: GetFlags) => {
      const series = o.from !== undefined || o.to !== undefined;
      if (series) checkSeriesFlags(o);
      await withConnection(flags(), async (nc) => {
        const client = tallyClient(nc);
        const minSeq = o.minSeq !== undefined ? { minSeq: o.minSeq } : {};
        if (series) {
          const reply = await client.series(ns, name, {
            period: o.period as Exclude<Period, "all">,
            from: o.from!,
            to: o.to!,
            ...minSeq,
          });
          if (o.json) console.log(JSON.stringify(reply));
          else printSeries(reply);
          return;
        }
        const reply = await client.get(ns, name, {
          period: o.period,
          ...(o.at !== undefined ? { at: o.at } : {}),
          ...minSeq,
        });
        if (o.json) console.log(JSON.stringify(reply));
        else printValue(reply);
      });
    });
}

function checkSeriesFlags(o: GetFlags): void {
  if (o.from === undefined || o.to === undefined)
    throw new CliError(CliErrorCode.BAD_OPTION, "a series needs both --from and --to");
  if (o.at !== undefined)
    throw new CliError(CliErrorCode.BAD_OPTION, "--at reads one bucket: leave it out of a series");
  if (o.period === "all")
    throw new CliError(CliErrorCode.BAD_OPTION, "a series needs a --period other than all, e.g. --period day");
}

/** `web home, day 2026-11-20 (UTC): 3` */
function printValue(r: ValueReply): void {
  const utc = r.period === "all" ? "" : " (UTC)";
  console.log(`${r.ns} ${r.name}, ${bucketHeading(r.period, r.bucket)}${utc}: ${formatCount(r.value)}`);
  warnLogGap(r.logGap);
}

/**
 * A heading, one row per bucket, and a sparkline:
 * ```
 * web home, day 2026-11-19 … 2026-11-21 (UTC): 3 buckets, total 9
 * BUCKET      VALUE
 * 2026-11-19      0
 * …
 * ▁▄█  max 6
 * ```
 */
function printSeries(r: SeriesReply): void {
  const pts = r.points;
  const total = pts.reduce((s, p) => s + p.value, 0);
  const range =
    pts.length === 0
      ? "no bucket"
      : `${bucketLabel(r.period, pts[0]!.bucket)} … ${bucketLabel(r.period, pts.at(-1)!.bucket)}`;
  console.log(
    `${r.ns} ${r.name}, ${r.period} ${range} (UTC): ${pts.length} bucket${pts.length === 1 ? "" : "s"}, ` +
      `total ${formatCount(total)}`,
  );
  if (r.retainedFrom !== undefined)
    console.log(
      `(buckets before ${bucketLabel(r.period, r.retainedFrom)} have expired under the period's retention: not shown)`,
    );
  if (pts.length > 0) {
    printTable(
      ["BUCKET", "VALUE"],
      pts.map((p) => [bucketLabel(r.period, p.bucket), formatCount(p.value)]),
      { align: ["left", "right"] },
    );
    const chart = sparkline(
      pts.map((p) => p.value),
      CHART_WIDTH,
    );
    const per = chart.bucketsPerMark > 1 ? ` (each mark sums ${chart.bucketsPerMark} ${r.period}s)` : "";
    console.log(`\n${chart.line}  max ${formatCount(chart.max)}${per}`);
  }
  warnLogGap(r.logGap);
}

/** The log gap mark, on stderr: the value may be short, and how to clear the mark. */
function warnLogGap(g: LogGapMark | undefined): void {
  if (g === undefined) return;
  process.stderr.write(
    `warning: this counter's shard is marked with a log gap: events with sequence ${g.restoredSeq + 1}-` +
      `${g.logFirstSeq - 1} may be missing from the value (see \`tally status\`; \`tally accept-gap\` clears the mark)\n`,
  );
}
