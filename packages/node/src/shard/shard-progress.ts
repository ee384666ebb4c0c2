/**
 * How far one shard has got in the stream. `processedSeq` moves with every event
 * applied or dead-lettered; `caughtUpTo` jumps ahead when a replay or the catch-up
 * probe proves that no event of the shard lies in between. Waiting code is told of
 * every step through {@link until}.
 */
export class ShardProgress {
  /** Highest stream sequence applied or dead-lettered. */
  processedSeq = 0;
  /** Every event of this shard with sequence ≤ this is processed (proved by a replay or a probe). */
  caughtUpTo = 0;
  #listeners: (() => void)[] = [];

  /** Every event of this shard with sequence ≤ this is reflected in its counts. */
  get confirmedSeq(): number {
    return Math.max(this.processedSeq, this.caughtUpTo);
  }

  /** Starts from a restored state: every event up to `seq` is in the counts. */
  restored(seq: number): void {
    this.processedSeq = seq;
    this.caughtUpTo = seq;
  }

  /** One event processed. */
  processed(seq: number): void {
    this.processedSeq = seq;
    if (this.#listeners.length > 0) this.wake();
  }

  /** Raises `caughtUpTo`; true when it moved. */
  caughtUp(bound: number): boolean {
    if (bound <= this.caughtUpTo) return false;
    this.caughtUpTo = bound;
    return true;
  }

  /** Runs every waiting check once (on progress, and on close so none waits out its timeout). */
  wake(): void {
    const fns = this.#listeners;
    this.#listeners = [];
    for (const fn of fns) fn();
  }

  /** Resolves when `cond()` holds after some progress, or after `timeoutMs`, whichever is first. */
  until(cond: () => boolean, timeoutMs: number): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        resolve();
      }, timeoutMs);
      const check = () => {
        if (settled) return;
        if (cond()) {
          settled = true;
          clearTimeout(timer);
          resolve();
        } else this.#listeners.push(check);
      };
      this.#listeners.push(check);
    });
  }
}
