/**
 * Long work is done in slices, so lease renewals, heartbeats and reads keep running while a
 * shard of millions of entries is restored, snapshotted, checkpointed or swept. Between two
 * slices the work goes on at once while the turn of the event loop has budget left, else on
 * the next turn ({@link turnBudget}, shared with the apply loops): many shards working at once
 * then take turns instead of all running a slice in the same turn.
 */
import { turnBudget } from "./turn-budget.js";

/** Entries handled per slice: about a millisecond of work, so a node under load keeps its event-loop delay low. */
export const SLICE_ENTRIES = 5_000;
/** Counters per slice of a take or a sweep (a counter holds tens of entries). */
export const SLICE_COUNTERS = 500;

/**
 * Called after a slice: resolves in a microtask while the current turn of the event loop has
 * budget left, else on the next turn, after pending I/O callbacks and timers.
 */
export function yieldToEventLoop(): Promise<void> {
  return turnBudget.afterSlice();
}
