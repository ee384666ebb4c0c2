/**
 * Options and constants of bench/namespace.ts: `--nodes N --counters C --events-per-counter E
 * --other-counters M --reads R --rounds K --rate RATE --cpu-reads C`, read when this module loads.
 * The defaults are issue 9's target: 1M counters in one namespace on 3 nodes.
 */
import { intArg } from "../lib/args.js";

/** Shards of the cluster (`natsMappings(64)`), as a default deployment. */
export const SHARDS = 64;
/** `tally node` processes sharing the shards (`--min-members N`: they split them from the start). */
export const NODES = intArg("nodes", 3);
/** Counters of the namespace that top and list read. */
export const COUNTERS = intArg("counters", 1_000_000);
/** Events per counter of that namespace, spread over the last {@link SPREAD_DAYS} days. */
export const EVENTS_PER_COUNTER = intArg("events-per-counter", 1);
/** Counters of a second namespace (its events share the shards and the log). */
export const OTHER_COUNTERS = intArg("other-counters", 20_000);
/** Measured requests of each kind per round (after {@link WARMUP} unmeasured ones). */
export const READS = intArg("reads", 200);
/**
 * Pause after each request of a round. Back to back, the costly kinds (tens of ms of node CPU
 * each) keep the node's core busy with reads alone, and the round measures a saturated node.
 */
export const PAUSE_MS = intArg("pause-ms", 30);
/** `--interleave`: the kinds of a round take turns request by request instead of running in blocks. */
export const INTERLEAVE = process.argv.includes("--interleave");
/** Rounds of each configuration (idle, under load), alternating: at least 2 to see the spread. */
export const ROUNDS = intArg("rounds", 2);
/** A round stops early after this many seconds (a saturated node may answer slowly). */
export const ROUND_MAX_S = intArg("round-max-s", 300);
/** Steady load while reads are measured "under load", acked publishes per second. */
export const RATE = intArg("rate", 2000);
/** Requests of one kind per node-CPU measurement (/proc ticks are 10 ms). */
export const CPU_READS = intArg("cpu-reads", 100);
/** Unmeasured requests of each kind before a round. */
export const WARMUP = 30;
/** Acked publishes in flight while filling. */
export const WINDOW = 2000;
/** Days the events of the filled namespaces are spread over (ending now). */
export const SPREAD_DAYS = 7;

/** The namespace top and list read, the second namespace (also the load's), and one never counted. */
export const NS = "pages";
export const OTHER_NS = "other";
export const EMPTY_NS = "nothing";

/** Issue 9's target: top day 10 over {@link COUNTERS} (1M) counters on {@link NODES} (3) nodes, idle: p99 below this. */
export const TARGET_TOP10_P99_MS = 20;
/** True when the run is the target's configuration (it then writes `results/namespace.json`). */
export const IS_TARGET_CONFIG = COUNTERS === 1_000_000 && NODES === 3;
