import { bucketIndex, bucketKey, type BucketPeriod, type Period } from "@tally/core";

/** One counter's values as recounted from the event log. */
export interface RecountedCounter {
  readonly ns: string;
  readonly name: string;
  /** Sum of the counted events (all-time, within what the log holds). */
  all: number;
  /** `bucketKey(period, index)` → value, for every bucket an event was counted in. */
  readonly buckets: Map<number, number>;
  /** Events counted (refused ones excluded). */
  counted: number;
}

const MS_PER_MINUTE = 60_000;

/**
 * The recount's aggregate: per counter (`ns \0 name`), all-time and per-bucket sums, with
 * the node's rule for a sum leaving the exact range (the event is refused whole, as
 * `ShardCounts.apply` refuses it with `COUNT_OVERFLOW`). Pure and allocation-light: one
 * map entry per counter and per bucket, and the bucket keys of the current minute are
 * computed once while events stay in it (every period's buckets start on a UTC minute).
 */
export class RecountTally {
  readonly periods: readonly BucketPeriod[];
  readonly #counters = new Map<string, RecountedCounter>();
  readonly #keys: number[];
  #minute = Number.NaN;

  constructor(periods: readonly Period[]) {
    this.periods = periods.filter((p): p is BucketPeriod => p !== "all");
    this.#keys = new Array<number>(this.periods.length).fill(0);
  }

  /** Number of counters held. */
  get size(): number {
    return this.#counters.size;
  }

  /** Every counter held, in the order first seen. */
  counters(): IterableIterator<RecountedCounter> {
    return this.#counters.values();
  }

  /** The counter `ns`/`name`, created empty on first use. */
  counter(ns: string, name: string): RecountedCounter {
    const key = ns + "\u0000" + name;
    let c = this.#counters.get(key);
    if (!c) {
      c = { ns, name, all: 0, buckets: new Map(), counted: 0 };
      this.#counters.set(key, c);
    }
    return c;
  }

  /** The counter `ns`/`name` if held. */
  find(ns: string, name: string): RecountedCounter | undefined {
    return this.#counters.get(ns + "\u0000" + name);
  }

  /**
   * Adds `delta` at event time `ts` to `c`'s all-time value and its bucket of every
   * period; all or nothing. False (nothing changed) when a value would leave ±2^53-1.
   */
  apply(c: RecountedCounter, delta: number, ts: number): boolean {
    const keys = this.bucketKeys(ts);
    const all = c.all + delta;
    if (!Number.isSafeInteger(all)) return false;
    const buckets = c.buckets;
    for (let i = 0; i < keys.length; i++) {
      if (!Number.isSafeInteger((buckets.get(keys[i]!) ?? 0) + delta)) return false;
    }
    c.all = all;
    c.counted++;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      buckets.set(k, (buckets.get(k) ?? 0) + delta);
    }
    return true;
  }

  /**
   * Bucket keys of time `ts`, one per period in {@link periods} order. The array is
   * reused: read it before the next call.
   */
  bucketKeys(ts: number): readonly number[] {
    const minute = Math.floor(ts / MS_PER_MINUTE);
    if (minute !== this.#minute) {
      for (let i = 0; i < this.periods.length; i++) {
        const p = this.periods[i]!;
        this.#keys[i] = bucketKey(p, bucketIndex(p, ts));
      }
      this.#minute = minute;
    }
    return this.#keys;
  }
}
