/**
 * Options and targets of bench/soak.ts, read when this module loads: `--quick` for the small
 * version (about 3 minutes), and overrides of each size.
 */
import { intArg, stringArg } from "../lib/args.js";

/** The small version: fewer counters, fewer entries, a shorter real time per phase. */
export const QUICK = process.argv.includes("--quick");

/** The phases to run: `--phases months,log,bulk` (all by default); the log phase includes verify. */
export const PHASES = new Set(stringArg("soak", "phases", "months,log,bulk").split(","));

const MiB = 2 ** 20;

/** Shards of both clusters (`natsMappings(64)`). */
export const SHARDS = 64;
/** Acked publishes in flight, at most. */
export const WINDOW = 2000;

/**
 * The months phase: periods all, minute, hour with minute kept 2 h and hour 48 h, event time
 * (and the node's clock) running `days` simulated days in `realSec` real seconds.
 */
export const MONTHS = {
  ns: "soak",
  periods: "all,minute,hour",
  retention: "minute=2h,hour=48h",
  /** The longest retention: memory should be flat once this much simulated time has passed. */
  windowMs: 48 * 3_600_000,
  counters: intArg("counters", QUICK ? 20_000 : 100_000),
  days: intArg("days", 30),
  realSec: intArg("months-sec", QUICK ? 50 : 180),
  /** Acked publishes per real second, paced (below what the node applies, so it keeps up). */
  rate: intArg("rate", QUICK ? 4000 : 6000),
  /** Real ms between sweeps (at 30 days in 180 s, 500 ms is 2 simulated hours). */
  sweepIntervalMs: 500,
  /** Real ms between samples of RSS, entries, stream bytes and metrics. */
  sampleMs: 1000,
  /**
   * Real seconds the node warms up (JIT, heap sizing) before the RSS window may start: the
   * simulation compresses retention, not the process's own warm-up.
   */
  warmUpSec: 20,
};

/**
 * The log phase: `tally init --log-max-bytes`, a node consuming, and a paced load over many
 * counters (and, as a contrast, over few) that runs on for `afterSec` once the log is full.
 */
export const LOG = {
  ns: "log",
  maxBytes: intArg("log-max-mib", 8) * MiB,
  counters: intArg("log-counters", 100_000),
  /** About five events per counter in a full log: nats-server 2.9 slows down when it drops old ones. */
  contrastCounters: 20_000,
  rate: intArg("log-rate", 4000),
  /** Real seconds the load runs on after the log first reached its limit. */
  afterSec: intArg("log-after-sec", QUICK ? 20 : 30),
};

/**
 * The bulk phase: periods all, hour, day, week, month (the defaults) and default retention;
 * `entries` entries filled by counters × `eventsPerCounter` events, `spacingHours` apart
 * (each event a new hour, day and week bucket of its counter), published as fast as acked.
 */
export const BULK = {
  ns: "fill",
  entries: intArg("entries", QUICK ? 500_000 : 5_000_000),
  eventsPerCounter: 12,
  spacingHours: 169,
  /** The node's checkpoint interval (the default). */
  checkpointIntervalMs: 5000,
  /** Share of the entries changed per checkpoint interval in the delta figure. */
  changedShare: 0.01,
  /** Measured intervals: 16 spans a compaction cycle (a chain was compacted past 16 parts when it was measured; now 64). */
  deltaIntervals: intArg("delta-intervals", QUICK ? 4 : 16),
  /** Events of the full-speed ingest on the filled node. */
  ingestEvents: intArg("ingest-events", QUICK ? 100_000 : 300_000),
  /** Pause of the background reader between two reads. */
  readEveryMs: 20,
  /** Counters whose all-time value is read back and checked after the restore. */
  exactSample: QUICK ? 2000 : 10_000,
};

/**
 * `--node-args "ARGS"`: options of `node` itself for every node the soak spawns, for
 * diagnostics, e.g. `--node-args "--cpu-prof --cpu-prof-dir /tmp/prof"` (a CPU profile
 * each, written at exit) or `--node-args "--heapsnapshot-signal=SIGUSR2 --diagnostic-dir /tmp/heap"`.
 */
export const NODE_ARGS = process.argv.includes("--node-args")
  ? stringArg("soak", "node-args")
      .split(" ")
      .filter((a) => a !== "")
  : [];

/** Rounds of each reader in the verify-rate figure. */
export const VERIFY_ROUNDS = intArg("verify-rounds", QUICK ? 1 : 3);

/** The targets. */
export const TARGETS = {
  rssFlat: 0.1,
  deltaShare: 0.05,
  bytesPerEntry: 120,
  eventLoopP99Ms: 50,
  readP99Ms: 50,
  restoreMs: 5000,
  restorePeakRatio: 1.2,
  verifyRatio: 0.8,
  /** Checkpoint bytes per entry added, 2N → 4N over N → 2N: linear stays near 1, N² doubles. */
  linearRatio: 1.5,
};
