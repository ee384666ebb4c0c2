/**
 * Long work is done in slices with a turn of the event loop between them, so lease
 * renewals, heartbeats and reads keep running while a shard of millions of entries is
 * restored, snapshotted, checkpointed or swept.
 */

/** Entries handled per slice: about a millisecond of work, so a node under load keeps its event-loop delay low. */
export const SLICE_ENTRIES = 5_000;
/** Counters per slice of a take or a sweep (a counter holds tens of entries). */
export const SLICE_COUNTERS = 500;

/** Resolves on the next turn of the event loop, after pending I/O callbacks and timers. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
