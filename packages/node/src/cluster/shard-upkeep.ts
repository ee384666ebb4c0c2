import type { Logger } from "pino";
import type { Checkpoints } from "../storage/checkpoints.js";
import { turnBudget } from "../turn-budget.js";
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
  // Each shard's work is started in a turn with budget left (turn-budget.ts): the first
  // slices of 64 shards' snapshots would otherwise all run in this timer's callback.
  repeat(every.snapshotIntervalMs, () => {
    void turnBudget.spread(owned.all(), (a) => a.snapshot().catch(() => undefined));
  });
  repeat(every.checkpointIntervalMs, () => {
    void turnBudget.spread(owned.serving(), (a) => a.checkpoint().catch(() => undefined));
  });
  repeat(every.sweepIntervalMs, () => {
    void turnBudget.spread(owned.serving(), (a) => a.sweep().catch(() => undefined));
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
