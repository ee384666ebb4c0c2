import type { Logger } from "pino";
import type { Checkpoints } from "../storage/checkpoints.js";
import type { OwnedShards } from "./owned-shards.js";

/** How often the holder of shard 0 collects checkpoint garbage (the collector spares anything younger than 10 minutes). */
const CHECKPOINT_GC_INTERVAL_MS = 10 * 60_000;

/** The intervals of {@link startShardUpkeep}, in ms. */
export interface UpkeepIntervals {
  snapshotIntervalMs: number;
  checkpointIntervalMs: number;
  sweepIntervalMs: number;
}

/**
 * The node's periodic work on the shards it holds: local snapshots, shared checkpoints,
 * sweeps of expired buckets, and (by the holder of shard 0, so one node at a time) the
 * collection of checkpoint parts and chunks that writers killed midway left behind.
 * Failures are logged where they happen; the next tick tries again. Returns the timers.
 */
export function startShardUpkeep(
  owned: OwnedShards,
  checkpoints: Checkpoints,
  log: Logger,
  every: UpkeepIntervals,
): NodeJS.Timeout[] {
  const timers: NodeJS.Timeout[] = [];
  const repeat = (ms: number, fn: () => void) => timers.push(setInterval(fn, ms));
  repeat(every.snapshotIntervalMs, () => {
    for (const a of owned.all()) a.snapshot().catch(() => undefined);
  });
  repeat(every.checkpointIntervalMs, () => {
    for (const a of owned.serving()) a.checkpoint().catch(() => undefined);
  });
  repeat(every.sweepIntervalMs, () => {
    for (const a of owned.serving()) a.sweep().catch(() => undefined);
  });
  repeat(CHECKPOINT_GC_INTERVAL_MS, () => {
    if (!owned.serving().some((a) => a.shard === 0)) return;
    checkpoints
      .collectGarbage()
      .then((r) => (r.parts || r.chunks) && log.info(r, "checkpoint garbage collected"))
      .catch((err: unknown) => log.warn({ err }, "checkpoint garbage collection failed"));
  });
  return timers;
}
