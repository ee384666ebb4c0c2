/**
 * A counting semaphore: at most `permits` holders at once, waiters served in arrival order.
 * It bounds how many publishes are awaiting their JetStream ack (the in-flight window).
 */
export class Semaphore {
  #free: number;
  // A queue with a moving head: shift() on a long array is O(n).
  #waiters: (() => void)[] = [];
  #head = 0;

  constructor(permits: number) {
    this.#free = permits;
  }

  /** Takes a permit if one is free, without waiting. */
  tryAcquire(): boolean {
    if (this.#free === 0) return false;
    this.#free--;
    return true;
  }

  /** Resolves once a permit is taken; pair every acquire with one {@link release}. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Returns a permit: hands it straight to the oldest waiter, if any. */
  release(): void {
    if (this.#head < this.#waiters.length) {
      const next = this.#waiters[this.#head]!;
      this.#waiters[this.#head++] = noop;
      if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
        this.#waiters = this.#waiters.slice(this.#head);
        this.#head = 0;
      }
      next();
      return;
    }
    this.#free++;
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.#waiters.length - this.#head;
  }

  /** Permits free now. */
  get free(): number {
    return this.#free;
  }
}

function noop(): void {}
