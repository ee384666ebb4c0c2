import { EventError } from "./errors.js";
import { bucketIndex, bucketKey, type Period } from "./periods.js";

/** One counter's values: all-time plus one map entry per (period, bucket). */
interface Counter {
  /** `ns \0 name` — the counter's identity inside a shard. */
  readonly key: string;
  all: number;
  /** bucketKey(period, index) → value; all-time is kept in `all`. */
  readonly buckets: Map<number, number>;
  /** Bucket keys changed since the last snapshot (0 stands for all-time). */
  dirty: Set<number> | undefined;
}

/** A (counter, bucket key, value) triple, as written to and loaded from a snapshot. */
export interface CountEntry {
  ns: string;
  name: string;
  /** 0 for all-time, else bucketKey(period, index). */
  key: number;
  value: number;
}

/** The all-time entry's key in snapshots. */
export const ALL_KEY = 0;

const SEP = "\u0000";

/**
 * The in-memory count model of one shard: every counter's all-time value and its
 * (period, bucket) values, with the set of entries changed since the last snapshot.
 * Pure (no I/O, no clock): buckets come from the event time given to {@link apply}.
 * Not thread-safe and needs not be: only its shard actor touches it. Values stay exact (safe integers) or the update is
 * refused whole with `COUNT_OVERFLOW`.
 */
export class ShardCounts {
  readonly #counters = new Map<string, Counter>();
  readonly #periods: Exclude<Period, "all">[];
  #dirty: Counter[] = [];
  readonly #keys: number[];
  #entries = 0;

  constructor(periods: readonly Period[]) {
    this.#periods = periods.filter((p): p is Exclude<Period, "all"> => p !== "all");
    this.#keys = new Array<number>(this.#periods.length).fill(0);
  }

  /** Number of counters held. */
  get counters(): number {
    return this.#counters.size;
  }

  /** Number of (counter, period, bucket) entries held, all-time included. */
  get entries(): number {
    return this.#entries;
  }

  /** Adds `delta` at event time `ts` to every period's bucket; all or nothing. */
  apply(ns: string, name: string, delta: number, ts: number): void {
    const key = ns + SEP + name;
    let c = this.#counters.get(key);
    const all = (c?.all ?? 0) + delta;
    if (!Number.isSafeInteger(all)) throw overflow(ns, name);
    const keys = this.#keys;
    for (let i = 0; i < this.#periods.length; i++) {
      const p = this.#periods[i]!;
      const k = bucketKey(p, bucketIndex(p, ts));
      keys[i] = k;
      if (c && !Number.isSafeInteger((c.buckets.get(k) ?? 0) + delta)) throw overflow(ns, name);
    }
    if (!c) {
      c = { key, all: 0, buckets: new Map(), dirty: undefined };
      this.#counters.set(key, c);
      this.#entries++;
    }
    c.all = all;
    if (!c.dirty) {
      c.dirty = new Set();
      this.#dirty.push(c);
    }
    c.dirty.add(ALL_KEY);
    const buckets = c.buckets;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const v = buckets.get(k);
      if (v === undefined) this.#entries++;
      buckets.set(k, (v ?? 0) + delta);
      c.dirty.add(k);
    }
  }

  /** All-time value; 0 for a counter never seen. */
  all(ns: string, name: string): number {
    return this.#counters.get(ns + SEP + name)?.all ?? 0;
  }

  /** Value of one bucket; 0 when empty. */
  bucket(ns: string, name: string, key: number): number {
    return this.#counters.get(ns + SEP + name)?.buckets.get(key) ?? 0;
  }

  /** Takes the entries changed since the last call and clears their dirty marks. */
  takeDirty(): CountEntry[] {
    const out: CountEntry[] = [];
    for (const c of this.#dirty) {
      const cut = c.key.indexOf(SEP);
      const ns = c.key.slice(0, cut);
      const name = c.key.slice(cut + 1);
      for (const k of c.dirty ?? []) {
        out.push({ ns, name, key: k, value: k === ALL_KEY ? c.all : (c.buckets.get(k) ?? 0) });
      }
      c.dirty = undefined;
    }
    this.#dirty = [];
    return out;
  }

  /** Every entry held, as of now (for a full checkpoint). */
  dump(): CountEntry[] {
    const out: CountEntry[] = [];
    for (const c of this.#counters.values()) {
      const cut = c.key.indexOf(SEP);
      const ns = c.key.slice(0, cut);
      const name = c.key.slice(cut + 1);
      out.push({ ns, name, key: ALL_KEY, value: c.all });
      for (const [k, v] of c.buckets) out.push({ ns, name, key: k, value: v });
    }
    return out;
  }

  /** Loads a snapshot or checkpoint entry; `dirty` marks it for the next snapshot. */
  load(entry: CountEntry, dirty = false): void {
    const key = entry.ns + SEP + entry.name;
    let c = this.#counters.get(key);
    if (!c) {
      c = { key, all: 0, buckets: new Map(), dirty: undefined };
      this.#counters.set(key, c);
    }
    if (dirty) {
      if (!c.dirty) {
        c.dirty = new Set();
        this.#dirty.push(c);
      }
      c.dirty.add(entry.key);
    }
    if (entry.key === ALL_KEY) {
      c.all = entry.value;
    } else {
      if (!c.buckets.has(entry.key)) this.#entries++;
      c.buckets.set(entry.key, entry.value);
      return;
    }
    this.#entries++;
  }
}

function overflow(ns: string, name: string): EventError {
  return new EventError("COUNT_OVERFLOW", `counter ${ns}.${name} would leave the exact integer range (±2^53-1)`);
}
