/**
 * The soak figures (issue 8): what months of running cost, simulated in minutes, and a node
 * holding millions of entries under load.
 *
 *   1. months: a node whose clock (TALLY_CLOCK_START / TALLY_CLOCK_RATE) runs 30 simulated
 *      days in a few minutes, fed events whose `ts` follows it (periods all, minute, hour;
 *      minute kept 2 h, hour 48 h; 100k counters): its RSS stays flat after the first
 *      retention window;
 *   2. log: a log bounded by `tally init --log-max-bytes` stays under it once full (over 100k
 *      counters, and 20k as a contrast); the `tally verify` recount rate against a raw ordered
 *      consumer on that log;
 *   3. bulk: a node filled to 5M entries (default periods): RSS per entry against the same
 *      node empty; checkpoint bytes written to reach N, 2N and 4N entries; checkpoint bytes
 *      per interval with 1 % of the entries changing, against a base of the whole state;
 *      full-speed ingest with background reads (leases, event-loop delay, read latency);
 *      restore on an empty data dir (time, peak RSS).
 *
 *   cd /work/main && npx tsx bench/soak.ts [--quick] [--phases months,log,bulk]   # pnpm bench:soak
 *
 * Prints a table and writes every raw number to bench/results/soak.json (soak-quick.json with
 * --quick). A figure whose feature this build lacks prints "not measured: <why>". See
 * bench/README.md; the phases are in bench/soak/.
 */
import { loadavg } from "node:os";
import { cleanupAll, resetCleanup, runBench } from "./lib/cleanup.js";
import { benchEnv, gitState } from "./lib/env.js";
import { writeResults } from "./lib/results.js";
import { log, nowMs } from "./lib/time.js";
import { deltaPhase } from "./soak/bulk-delta.js";
import { fillPhase } from "./soak/bulk-fill.js";
import { ingestPhase } from "./soak/bulk-ingest.js";
import { restorePhase } from "./soak/bulk-restore.js";
import { monthsPhase } from "./soak/months.js";
import { logPhase } from "./soak/log-bound.js";
import { BULK, LOG, MONTHS, PHASES, QUICK, TARGETS, VERIFY_ROUNDS } from "./soak/options.js";
import { printDetails, printTable, type Skipped, type SoakReport } from "./soak/report.js";
import { startSoakCluster } from "./soak/setup.js";
import { verifyPhase } from "./soak/verify-phase.js";

/** Runs a phase; a failure is recorded as "not measured" with its reason, and the run goes on. */
async function attempt<T>(name: string, fn: () => Promise<T>): Promise<T | Skipped> {
  try {
    return await fn();
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0]! : String(err);
    log(`${name} failed: ${why}`);
    console.error(err);
    process.exitCode = 1;
    return { met: null, notMeasured: `not measured: ${name} failed: ${why}` };
  }
}

const notRun = (why: string): Skipped => ({ met: null, notMeasured: `not measured: ${why}` });

async function main() {
  const startedAt = nowMs();
  const env = { ...benchEnv(), ...gitState() };
  log(`soak${QUICK ? " --quick" : ""} on ${env.cpus} cpus, ${env.node}, ${env.natsServer}, commit ${env.commit}`);

  // 1. Months of retention on one node.
  const months = PHASES.has("months") ? await attempt("months", monthsPhase) : notRun("--phases left it out");
  await cleanupAll();
  resetCleanup();

  // 2. A bounded log, full, over many counters; the verify rate on it; the same over few counters.
  let logBound: SoakReport["log"] = notRun("--phases left it out");
  let verify: SoakReport["verify"] = logBound;
  let logContrast: SoakReport["logContrast"] = logBound;
  if (PHASES.has("log")) {
    const many = await attempt("log", () => logPhase(LOG.counters));
    logBound = "results" in many ? many.results : many;
    verify =
      "cluster" in many
        ? await attempt("verify", () => verifyPhase(many.cluster.server.url))
        : notRun("the log phase did not leave an event log");
    await cleanupAll();
    resetCleanup();
    const few = await attempt("log contrast", () => logPhase(LOG.contrastCounters));
    logContrast = "results" in few ? few.results : few;
    await cleanupAll();
    resetCleanup();
  }

  // 3. The bulk node: fill, 1 % changes, full-speed ingest, restore; each needs the fill.
  const bulk = PHASES.has("bulk")
    ? await attempt("bulk setup", () => startSoakCluster("tally-soak-bulk", [], []))
    : notRun("--phases left it out");
  const fill = "server" in bulk ? await attempt("fill", () => fillPhase(bulk)) : bulk;
  let delta: SoakReport["delta"] = notRun("the fill did not complete");
  let ingest: SoakReport["ingest"] = delta;
  let restore: SoakReport["restore"] = delta;
  if ("server" in bulk && "filled" in fill) {
    delta = await attempt("delta", () => deltaPhase(bulk, fill.filled, fill.results.entries, fill.full));
    ingest = await attempt("ingest", () => ingestPhase(bulk, fill.filled));
    restore = await attempt("restore", () => restorePhase(bulk, fill.filled));
    fill.filled.store.stop();
  }

  const report: SoakReport = {
    months,
    log: logBound,
    logContrast,
    verify,
    fill: "results" in fill ? fill.results : fill,
    delta,
    ingest,
    restore,
    runMs: nowMs() - startedAt,
  };
  const results = {
    env,
    quick: QUICK,
    params: { months: MONTHS, log: LOG, bulk: BULK, verifyRounds: VERIFY_ROUNDS, targets: TARGETS },
    ...report,
    loadavgAtEnd: loadavg(),
  };
  const path = await writeResults(QUICK ? "soak-quick" : "soak", results);
  printTable(report);
  printDetails(report, path);
}

await runBench(main);
// Nothing of the run may keep the process alive (a failed phase can leave a client retrying).
process.exit();
