/**
 * Options and constants of bench/cluster.ts: `--shards P --events N --keys K --rate R
 * --load-keys L --probe-pause MS`, read when this module loads.
 */
import { intArg } from "../lib/args.js";

export const SHARDS = intArg("shards", 64);
/** Events in the stream the restore phase restores. */
export const N = intArg("events", 200_000);
/** Distinct counters of the restore stream. */
export const KEYS = intArg("keys", 10_000);
/** Steady load during join and failover, acked publishes per second, and its counters. */
export const RATE = intArg("rate", 1000);
export const LOAD_KEYS = intArg("load-keys", 1000);
/** Pause between two reads of one shard's probe loop (64 loops back-to-back would eat 2 cores). */
export const PROBE_PAUSE_MS = intArg("probe-pause", 20);
/** Acked publishes in flight, at most. */
export const WINDOW = 2000;
/** A failed-over shard that has not answered after this long counts as never answering. */
export const FAILOVER_GIVE_UP_MS = 30_000;
/** Namespace of the steady load's counters. */
export const LOAD_NS = "cl";
/** Namespace of the restore stream's counters. */
export const RESTORE_NS = "rs";

/** The targets of the cluster figures. */
export const TARGETS = {
  failoverMs: 10_000,
  handoffGapP99Ms: 1000,
  failedReads: 0,
  movedRatio: 1.1,
};
