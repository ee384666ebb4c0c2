/** A read parked until its shard has processed the sequence it needs. */
interface Waiter<T> {
  /** Stream sequence the answer must reflect. */
  readonly need: number;
  readonly item: T;
  timer: NodeJS.Timeout | undefined;
  /** False once answered, expired or cancelled (it may still sit in the heap). */
  live: boolean;
}

/**
 * Reads waiting for a stream sequence, in a binary min-heap ordered by the
 * sequence they need: each processed event costs one comparison with the top,
 * not a scan of every waiter. A waiter that times out is marked dead and
 * dropped when it reaches the top (lazy deletion), so expiry is O(1).
 */
export class SequenceWaiters<T> {
  readonly #heap: Waiter<T>[] = [];
  #live = 0;

  /** Waiters not yet answered, expired or cancelled. */
  get size(): number {
    return this.#live;
  }

  /** The smallest sequence a live waiter needs, if any. */
  minNeed(): number | undefined {
    this.#dropDead();
    return this.#heap[0]?.need;
  }

  /** Parks `item` until {@link release} reaches `need`, or `onExpire` after `timeoutMs`. */
  add(need: number, item: T, timeoutMs: number, onExpire: (item: T) => void): void {
    const w: Waiter<T> = { need, item, timer: undefined, live: true };
    w.timer = setTimeout(() => {
      if (!w.live) return;
      w.live = false;
      this.#live--;
      this.#compact();
      onExpire(item);
    }, timeoutMs);
    this.#heap.push(w);
    this.#live++;
    this.#up(this.#heap.length - 1);
  }

  /** Hands every live waiter that needs at most `done` to `ready`, smallest need first. */
  release(done: number, ready: (item: T) => void): void {
    for (;;) {
      this.#dropDead();
      const top = this.#heap[0];
      if (!top || top.need > done) return;
      this.#pop();
      this.#settle(top);
      ready(top.item);
    }
  }

  /** Hands every live waiter to `fn` (e.g. to refuse them on close) and empties the heap. */
  drain(fn: (item: T) => void): void {
    const all = this.#heap.splice(0);
    for (const w of all) {
      if (!w.live) continue;
      this.#settle(w);
      fn(w.item);
    }
  }

  #settle(w: Waiter<T>): void {
    w.live = false;
    this.#live--;
    clearTimeout(w.timer);
  }

  /** Rebuilds the heap without dead waiters once they outnumber the live ones, so memory stays bounded. */
  #compact(): void {
    const h = this.#heap;
    if (h.length <= 2 * this.#live + 64) return;
    const live = h.filter((w) => w.live);
    h.length = 0;
    for (const w of live) {
      h.push(w);
      this.#up(h.length - 1);
    }
  }

  #dropDead(): void {
    while (this.#heap.length > 0 && !this.#heap[0]!.live) this.#pop();
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    this.#down(0);
  }

  #up(i: number): void {
    const h = this.#heap;
    const w = h[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.need <= w.need) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = w;
  }

  #down(i: number): void {
    const h = this.#heap;
    const w = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && h[r]!.need < h[l]!.need ? r : l;
      if (h[c]!.need >= w.need) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = w;
  }
}
