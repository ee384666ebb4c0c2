import {
  ChangeTracker,
  STRIDE,
  splitCounterKey,
  type ChangeConsumer,
  type ChangeTake,
  type Counter,
} from "./count-changes.js";
import { EventError } from "./errors.js";
import { PeriodCode, bucketIndex, bucketKey, type BucketPeriod, type Period } from "./periods.js";
import { firstRetainedIndex, type Retention } from "./retention.js";
import type { NamespaceCounters } from "./namespace-scan.js";

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
 * (period, bucket) values, with retention (expired buckets are neither counted into nor
 * kept) and change tracking for the local snapshot and the shared checkpoint.
 *
 * Pure: no I/O and no clock. Buckets come from the event time given to {@link apply};
 * expiry from the time given to {@link setNow}. Only its shard actor touches it, one
 * call at a time. Values stay exact (safe integers) or the update is refused whole
 * with `COUNT_OVERFLOW`.
 *
 * Memory: a counter is one small object and one array of numbers, three per entry
 * (key, value, generation of its last change), so an entry costs about 24 bytes plus
 * its share of the counter; change tracking adds no copy of the state.
 */
export class ShardCounts {
  readonly #counters = new Map<string, Counter>();
  /** The same counters by namespace, then name token: what top and list scan. */
  readonly #byNs = new Map<string, Map<string, Counter>>();
  readonly #periods: BucketPeriod[];
  readonly #codes: number[];
  readonly #keys: number[];
  #changes = new ChangeTracker();
  #retention: Readonly<Retention> = {};
  /** Per period code: the smallest bucket key still retained (-Infinity: all kept). */
  readonly #cutoff = new Array<number>(8).fill(-Infinity);
  #entries = 0;
  #version = 0;
  /** Per namespace: the {@link version} of its last change; absent: none since the last clear. */
  readonly #nsVersions = new Map<string, number>();
  /** The {@link version} of the last {@link clear}. */
  #clearedAt = 0;
  #sweep: IterableIterator<Counter> | undefined;

  constructor(periods: readonly Period[], retention: Readonly<Retention> = {}) {
    this.#periods = periods.filter((p): p is BucketPeriod => p !== "all");
    this.#codes = this.#periods.map((p) => PeriodCode[p]);
    this.#keys = new Array<number>(this.#periods.length).fill(0);
    this.#retention = retention;
  }

  /** Number of counters held. */
  get counters(): number {
    return this.#counters.size;
  }

  /**
   * Changes with every change to any entry (apply, load, unload, sweep, clear): an answer
   * computed from the counts stays right while it is the same (e.g. a cached top N).
   */
  get version(): number {
    return this.#version;
  }

  /**
   * Changes with every change to an entry of namespace `ns` (or a clear), and only then:
   * a cached top N of one namespace stays valid while others are counted.
   */
  namespaceVersion(ns: string): number {
    return this.#nsVersions.get(ns) ?? this.#clearedAt;
  }

  /** Records a change in namespace `ns`. */
  #changed(ns: string): void {
    this.#nsVersions.set(ns, ++this.#version);
  }

  /** Number of (counter, period, bucket) entries held, all-time included. */
  get entries(): number {
    return this.#entries;
  }

  /** The retention in force. */
  get retention(): Readonly<Retention> {
    return this.#retention;
  }

  /** Changes the retention; takes effect at the next {@link setNow}. */
  setRetention(retention: Readonly<Retention>): void {
    this.#retention = retention;
  }

  /**
   * Moves the model's clock to `nowMs`: buckets that expired by then are no longer
   * counted into, and the next {@link sweep} removes them.
   */
  setNow(nowMs: number): void {
    for (const p of this.#periods) {
      const first = firstRetainedIndex(p, this.#retention[p], nowMs);
      this.#cutoff[PeriodCode[p]] = first === -Infinity ? -Infinity : bucketKey(p, first);
    }
  }

  /**
   * Adds `delta` at event time `ts` to all-time and to every period's bucket that is
   * still retained; all or nothing. An event older than a period's retention still counts
   * in all-time and in the periods that keep it.
   */
  apply(ns: string, name: string, delta: number, ts: number): void {
    const key = ns + SEP + name;
    let c = this.#counters.get(key);
    const keys = this.#keys;
    const periods = this.#periods;
    const cutoff = this.#cutoff;
    for (let i = 0; i < periods.length; i++) {
      const p = periods[i]!;
      const k = bucketKey(p, bucketIndex(p, ts));
      keys[i] = k >= cutoff[this.#codes[i]!]! ? k : NaN;
    }
    if (c) {
      const d = c.d;
      if (!Number.isSafeInteger(d[1]! + delta)) throw overflow(ns, name);
      for (let i = 0; i < keys.length; i++) {
        const at = find(d, keys[i]!);
        if (at >= 0 && !Number.isSafeInteger(d[at + 1]! + delta)) throw overflow(ns, name);
      }
      this.#changes.beforeChange(c);
    } else {
      if (!Number.isSafeInteger(delta)) throw overflow(ns, name);
      c = this.#add(key, ns, name);
    }
    this.#changed(ns);
    const gen = this.#changes.gen;
    const d = c.d;
    d[1] = d[1]! + delta;
    d[2] = gen;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k !== k) continue; // NaN: expired
      const at = find(d, k);
      if (at >= 0) {
        d[at + 1] = d[at + 1]! + delta;
        d[at + 2] = gen;
      } else {
        d.push(k, delta, gen);
        this.#entries++;
      }
    }
    this.#changes.changed(c);
  }

  #add(id: string, ns: string, name: string): Counter {
    const c: Counter = { key: id, d: [0, 0, 0], marks: 0 };
    this.#counters.set(id, c);
    let names = this.#byNs.get(ns);
    if (!names) this.#byNs.set(ns, (names = new Map()));
    names.set(name, c);
    this.#entries++;
    return c;
  }

  /** A namespace's counters by name token, for `topOfShard` and `listOfShard`; read only. */
  namespace(ns: string): NamespaceCounters | undefined {
    return this.#byNs.get(ns);
  }

  /** All-time value; 0 for a counter never seen. */
  all(ns: string, name: string): number {
    return this.#counters.get(ns + SEP + name)?.d[1] ?? 0;
  }

  /** Value of one bucket; 0 when empty (whether it expired is the reader's rule to apply). */
  bucket(ns: string, name: string, key: number): number {
    const d = this.#counters.get(ns + SEP + name)?.d;
    if (!d) return 0;
    const at = find(d, key);
    return at >= 0 ? d[at + 1]! : 0;
  }

  /** Loads one entry of a snapshot or checkpoint (unchanged: no consumer is told). */
  load(ns: string, name: string, key: number, value: number): void {
    const id = ns + SEP + name;
    const c = this.#counters.get(id) ?? this.#add(id, ns, name);
    this.#changed(ns);
    if (key === ALL_KEY) {
      c.d[1] = value;
      return;
    }
    const at = find(c.d, key);
    if (at >= 0) c.d[at + 1] = value;
    else {
      c.d.push(key, value, 0);
      this.#entries++;
    }
  }

  /** Whether bucket key `key` is below the retention as of the last {@link setNow}. */
  isExpired(key: number): boolean {
    return key !== ALL_KEY && key < this.#cutoff[codeOf(key)]!;
  }

  /** Forgets every counter and every change (a restore that must start over). */
  clear(): void {
    this.#counters.clear();
    this.#byNs.clear();
    this.#nsVersions.clear();
    this.#clearedAt = ++this.#version;
    this.#changes = new ChangeTracker();
    this.#entries = 0;
    this.#sweep = undefined;
  }

  /** Removes one loaded entry (a checkpoint delta's removal); all-time is never removed. */
  unload(ns: string, name: string, key: number): void {
    const c = this.#counters.get(ns + SEP + name);
    if (!c || key === ALL_KEY) return;
    const at = find(c.d, key);
    if (at < 0) return;
    c.d.splice(at, STRIDE);
    this.#entries--;
    this.#changed(ns);
  }

  /**
   * Removes expired buckets from up to `budget` counters, recording each removal for
   * the snapshot and the checkpoint; true once a whole pass over the counters is done.
   * Call {@link setNow} first. Counters added during a pass may or may not be visited.
   */
  sweep(budget: number): { done: boolean; removed: number } {
    this.#sweep ??= this.#counters.values();
    let removed = 0;
    for (let n = 0; n < budget; n++) {
      const next = this.#sweep.next();
      if (next.done) {
        this.#sweep = undefined;
        return { done: true, removed };
      }
      removed += this.#expire(next.value);
    }
    return { done: false, removed };
  }

  #expire(c: Counter): number {
    const d = c.d;
    const cutoff = this.#cutoff;
    let expired = 0;
    for (let i = STRIDE; i < d.length; i += STRIDE) {
      const k = d[i]!;
      if (k < cutoff[codeOf(k)]!) expired++;
    }
    if (expired === 0) return 0;
    this.#changes.beforeChange(c);
    const [ns, name] = splitCounterKey(c.key);
    let w = STRIDE;
    for (let i = STRIDE; i < d.length; i += STRIDE) {
      const k = d[i]!;
      if (k < cutoff[codeOf(k)]!) {
        this.#changes.removed(ns, name, k);
        continue;
      }
      if (w !== i) {
        d[w] = k;
        d[w + 1] = d[i + 1]!;
        d[w + 2] = d[i + 2]!;
      }
      w += STRIDE;
    }
    d.length = w;
    this.#entries -= expired;
    this.#changed(c.key.slice(0, c.key.indexOf(SEP)));
    return expired;
  }

  /**
   * Begins taking the entries that changed since `consumer`'s last take (or, with
   * `full`, every entry), as of now: step it with {@link ChangeTake.step} between other
   * work, then end it with {@link endTake}.
   */
  beginTake(consumer: ChangeConsumer, full = false): ChangeTake {
    return this.#changes.begin(consumer, full ? this.#counters.values() : undefined);
  }

  /** Whether `consumer`'s next take would hold anything (a change or a removal). */
  hasChanges(consumer: ChangeConsumer): boolean {
    return this.#changes.hasChanges(consumer);
  }

  /** Ends a take; if its write failed, its changes are handed out again by the next take. */
  endTake(take: ChangeTake, written: boolean): void {
    this.#changes.end(take, written);
  }

  /** Every entry held, as of now (tests and tools; a node uses a full take). */
  dump(): CountEntry[] {
    const out: CountEntry[] = [];
    for (const c of this.#counters.values()) {
      const [ns, name] = splitCounterKey(c.key);
      for (let i = 0; i < c.d.length; i += STRIDE) out.push({ ns, name, key: c.d[i]!, value: c.d[i + 1]! });
    }
    return out;
  }
}

/**
 * Index in `d` of the entry with bucket key `key`, or -1. Scans from the newest
 * entry back: events mostly land in the latest buckets.
 */
function find(d: number[], key: number): number {
  for (let i = d.length - STRIDE; i >= 0; i -= STRIDE) if (d[i] === key) return i;
  return -1;
}

/** The period code of a bucket key (its value mod 8, negative keys included). */
function codeOf(key: number): number {
  return key - Math.floor(key / 8) * 8;
}

function overflow(ns: string, name: string): EventError {
  return new EventError("COUNT_OVERFLOW", `counter ${ns}.${name} would leave the exact integer range (±2^53-1)`);
}
