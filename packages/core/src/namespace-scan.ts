import { STRIDE, type Counter } from "./count-changes.js";
import { compareDecoded, decodeName, decodedStartsWith } from "./name-encoding.js";
import { compareNames, compareTopItems, type ShardListPage, type TopItem } from "./namespace-reads.js";

/** A namespace's counters in one shard, by name token (as stored: percent-encoded). */
export type NamespaceCounters = ReadonlyMap<string, Counter>;

/** The value of bucket `key` (0: all-time) of a counter, or undefined when it has none. */
function valueAt(d: readonly number[], key: number): number | undefined {
  if (key === 0) return d[1];
  for (let i = d.length - STRIDE; i >= STRIDE; i -= STRIDE) if (d[i] === key) return d[i + 1];
  return undefined;
}

/**
 * A bounded heap of the best `limit` items seen so far, by `better`; its root is the
 * worst kept item, so a candidate that is not better than the root is rejected in O(1).
 */
class BestOf<T> {
  readonly #items: T[] = [];
  readonly #limit: number;
  readonly #better: (a: T, b: T) => boolean;

  constructor(limit: number, better: (a: T, b: T) => boolean) {
    this.#limit = limit;
    this.#better = better;
  }

  /** Whether `x` would be kept (cheap pre-check before building a candidate). */
  wants(x: T): boolean {
    return this.#items.length < this.#limit || this.#better(x, this.#items[0]!);
  }

  offer(x: T): void {
    const h = this.#items;
    if (h.length < this.#limit) {
      h.push(x);
      this.#up(h.length - 1);
    } else if (this.#better(x, h[0]!)) {
      h[0] = x;
      this.#down(0);
    }
  }

  /** The worst kept item once `limit` are kept (anything not better stays out), else undefined. */
  get worst(): T | undefined {
    return this.#items.length < this.#limit ? undefined : this.#items[0];
  }

  /** The kept items, best first. */
  sorted(compare: (a: T, b: T) => number): T[] {
    return [...this.#items].sort(compare);
  }

  #up(i: number): void {
    const h = this.#items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#better(h[parent]!, h[i]!)) break;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  #down(i: number): void {
    const h = this.#items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < h.length && this.#better(h[worst]!, h[l]!)) worst = l;
      if (r < h.length && this.#better(h[worst]!, h[r]!)) worst = r;
      if (worst === i) return;
      [h[worst], h[i]] = [h[i]!, h[worst]!];
      i = worst;
    }
  }
}

/**
 * The shard's top `limit` counters of a namespace in bucket `key` (0: all-time): value
 * descending, ties by decoded name ascending. One pass over the namespace's counters with
 * a heap of `limit` items; names are decoded only for counters that enter it.
 */
export function topOfShard(counters: NamespaceCounters | undefined, key: number, limit: number): TopItem[] {
  if (!counters) return [];
  const best = new BestOf<TopItem>(limit, (a, b) => compareTopItems(a, b) < 0);
  for (const [token, c] of counters) {
    const value = valueAt(c.d, key);
    if (value === undefined) continue;
    const worst = best.worst;
    // Cannot enter: a lower value, or a tie that does not sort before the worst kept name
    // (compared without decoding where the token's literal part decides).
    if (
      worst !== undefined &&
      (value < worst.value || (value === worst.value && compareDecoded(token, worst.name) >= 0))
    )
      continue;
    best.offer({ name: decodeName(token), value });
  }
  return best.sorted(compareTopItems);
}

/**
 * The shard's first `limit` decoded names of a namespace after `after` that start with
 * `prefix` and have a value in bucket `key` (0: every name), ascending, and whether
 * there are more.
 */
export function listOfShard(
  counters: NamespaceCounters | undefined,
  key: number,
  prefix: string,
  after: string,
  limit: number,
): ShardListPage {
  if (!counters) return { names: [], more: false };
  const best = new BestOf<string>(limit + 1, (a, b) => a < b);
  for (const [token, c] of counters) {
    // Every check on the token first: most counters are left out without a decoded name.
    if (compareDecoded(token, after) <= 0 || !decodedStartsWith(token, prefix)) continue;
    const worst = best.worst;
    if (worst !== undefined && compareDecoded(token, worst) >= 0) continue;
    if (key !== 0 && valueAt(c.d, key) === undefined) continue;
    best.offer(decodeName(token));
  }
  const names = best.sorted(compareNames);
  const more = names.length > limit;
  return { names: more ? names.slice(0, limit) : names, more };
}
