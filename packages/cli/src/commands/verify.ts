import type { Command } from "commander";
import { VERIFY_DEFAULTS, verifyCounts, type VerifyReport } from "@tally/node";
import { withConnection, type FlagsOf } from "../connection.js";
import { printError } from "../errors.js";
import { int } from "../options.js";
import { progressDisplay } from "../progress.js";
import { printTable } from "../table.js";

interface VerifyFlags {
  json?: boolean;
  progress: boolean;
  concurrency: number;
  maxPoints: number;
}

/** Exit codes of `tally verify`. */
export const VerifyExit = { ok: 0, differences: 1, error: 2 } as const;

const UNITS: Record<string, string> = { recount: "events", compare: "reads", settle: "events" };

/**
 * `tally verify [ns]`: recounts the event log and compares with what the nodes serve.
 * Exit 0 when nothing differs, 1 when something does, 2 when it could not finish.
 */
export function registerVerify(program: Command, flags: FlagsOf): void {
  program
    .command("verify")
    .description("recount the event log and compare with what the nodes serve (exit 0: same, 1: differences, 2: error)")
    .argument("[ns]", "only this namespace")
    .option("--json", "print the report as JSON")
    .option("--no-progress", "no progress bar on stderr")
    .option("--concurrency <n>", "reads in flight at once", int("--concurrency"), VERIFY_DEFAULTS.concurrency)
    .option(
      "--max-points <n>",
      "most buckets per series read (the nodes' limit)",
      int("--max-points"),
      VERIFY_DEFAULTS.maxSeriesPoints,
    )
    .action(async (ns: string | undefined, o: VerifyFlags) => {
      const progress = progressDisplay(o.progress, (phase) => UNITS[phase] ?? "");
      try {
        const report = await withConnection(flags(), (nc) =>
          verifyCounts(nc, {
            ...(ns !== undefined ? { ns } : {}),
            concurrency: o.concurrency,
            maxSeriesPoints: o.maxPoints,
            onProgress: (p) => progress.update(p),
          }),
        );
        progress.stop();
        if (o.json) console.log(JSON.stringify(report, null, 2));
        else printReport(report);
        process.exitCode =
          report.failures.length > 0
            ? VerifyExit.error
            : report.differences.length > 0
              ? VerifyExit.differences
              : VerifyExit.ok;
      } catch (err) {
        progress.stop();
        printError(err, { natsUrl: flags().nats, json: o.json === true });
        process.exitCode = VerifyExit.error;
      }
    });
}

function printReport(r: VerifyReport): void {
  const { log, events, checked } = r;
  const scope = r.ns === null ? "every namespace" : `namespace ${r.ns}`;
  console.log(
    `log: sequences ${log.fromSeq}..${log.endSeq} (${scope}): ${events.read} events read, ${events.counted} counted, ` +
      `${events.skipped} skipped as the nodes skip them (${events.scanned} read at ${events.perSecond}/s)`,
  );
  if (log.complete) console.log("the log holds every event ever stored: all-time values and every bucket checked");
  else if (log.checkedAfter !== null)
    console.log(
      `the log starts at sequence ${log.firstSeq}: only buckets starting after ${log.checkedAfter} checked, all-time values not`,
    );
  else console.log("the log holds no event: nothing to check");
  console.log(
    `checked ${checked.counters} counters: ${checked.buckets} buckets with events, ${checked.zeroBuckets} empty ones, ` +
      `${checked.allTime} all-time values (${checked.reads} reads)`,
  );
  if (r.settledByLaterEvents > 0)
    console.log(`${r.settledByLaterEvents} values were ahead of the recount by events stored since (not differences)`);
  if (r.expiredOnNodes > 0) console.log(`${r.expiredOnNodes} buckets had already expired on the nodes`);
  if (r.failures.length > 0) {
    console.log(`\n${r.failures.length} reads failed${r.aborted ? " (gave up)" : ""}; the check is incomplete:`);
    printTable(
      ["NS", "NAME", "PERIOD", "CODE", "MESSAGE"],
      r.failures.map((f) => [f.ns, f.name, f.period, f.code, f.message]),
    );
  }
  if (r.differences.length === 0) {
    console.log(r.failures.length > 0 ? "no differences in what was read" : "no differences");
    return;
  }
  const n = r.differences.length;
  console.log(`\n${n} ${n === 1 ? "difference" : "differences"}:`);
  printTable(
    ["NS", "NAME", "PERIOD", "BUCKET", "EXPECTED", "SERVED"],
    r.differences.map((d) => [
      d.ns,
      d.name,
      d.period,
      d.bucket ?? "-",
      String(d.expected),
      d.served === null ? "missing" : String(d.served),
    ]),
  );
}
