/**
 * Change tracking for {@link ShardCounts}: which entries changed since each consumer
 * (the local snapshot, the shared checkpoint) last took its changes, without a second
 * copy of the state. Every entry carries the generation it last changed in; a consumer
 * remembers the generation of its last take and a list of the counters touched since.
 * @internal
 */

/** One counter: its identity and its entries as `[key, value, stamp, key, value, stamp, …]`. */
export interface Counter {
  /** `ns \0 name` — the counter's identity inside a shard. */
  readonly key: string;
  /**
   * Entries, three numbers each: bucket key (0 = all-time, always first), value, and the
   * generation of its last change (0 = loaded, unchanged). A plain array of numbers costs
   * 8 bytes a number and no object per entry.
   */
  d: number[];
  /** Bit `1 << c`: listed for consumer c; bit `1 << (c + 4)`: pending in c's take in progress. */
  marks: number;
}

/** Numbers per entry in {@link Counter.d}. */
export const STRIDE = 3;

/** The consumers of changes: the node's local snapshot and the shared checkpoint. */
export const ChangeConsumer = { snapshot: 0, checkpoint: 1 } as const;
/** One of the {@link ChangeConsumer} numbers. */
export type ChangeConsumer = (typeof ChangeConsumer)[keyof typeof ChangeConsumer];
const CONSUMERS = [0, 1] as const;
const PENDING_SHIFT = 4;

/** Splits a counter key back into namespace and name. */
export function splitCounterKey(key: string): [ns: string, name: string] {
  const cut = key.indexOf("\u0000");
  return [key.slice(0, cut), key.slice(cut + 1)];
}

/**
 * The changes of one consumer as of the instant the take began (a consistent cut),
 * gathered a slice at a time: counters not yet gathered are copied out first if
 * anything is about to change them. `removals` come before `upserts`: apply the
 * removals first (a bucket can expire, then be counted again after a retention change).
 */
export class ChangeTake {
  #upserts: (string | number)[] = [];
  /** `[ns, name, key, …]` of every entry removed (expired). */
  readonly removals: (string | number)[];
  readonly consumer: ChangeConsumer;
  /** True for a take of every entry (a base), not only the changed ones. */
  readonly full: boolean;
  readonly #counters: Counter[];
  readonly #since: number;
  #next = 0;

  /** @internal */
  constructor(
    consumer: ChangeConsumer,
    counters: Counter[],
    since: number,
    removals: (string | number)[],
    full: boolean,
  ) {
    this.consumer = consumer;
    this.#counters = counters;
    this.#since = since;
    this.removals = removals;
    this.full = full;
  }

  /** `[ns, name, key, value, …]` of every changed entry gathered (and not drained) so far. */
  get upserts(): (string | number)[] {
    return this.#upserts;
  }

  /** Hands out the entries gathered so far and starts an empty list (to write a large take in parts). */
  drainUpserts(): (string | number)[] {
    const out = this.#upserts;
    this.#upserts = [];
    return out;
  }

  /** Entries gathered and not drained. */
  get entries(): number {
    return this.#upserts.length / 4;
  }

  /** Counters the take covers. */
  get counters(): number {
    return this.#counters.length;
  }

  /** @internal Generation this take gathers after. */
  get since(): number {
    return this.#since;
  }

  /** @internal Counters the take covers (to list them again if its write fails). */
  get covered(): readonly Counter[] {
    return this.#counters;
  }

  /** Gathers up to `budget` more counters; true once every counter is gathered. */
  step(budget: number): boolean {
    const bit = 1 << (this.consumer + PENDING_SHIFT);
    const end = Math.min(this.#counters.length, this.#next + budget);
    for (; this.#next < end; this.#next++) {
      const c = this.#counters[this.#next]!;
      if (c.marks & bit) this.gather(c);
    }
    return this.#next >= this.#counters.length;
  }

  /** @internal Copies a pending counter's changed entries out and clears its pending mark. */
  gather(c: Counter): void {
    c.marks &= ~(1 << (this.consumer + PENDING_SHIFT));
    const [ns, name] = splitCounterKey(c.key);
    const d = c.d;
    const since = this.#since;
    for (let i = 0; i < d.length; i += STRIDE) {
      if (d[i + 2]! > since) this.#upserts.push(ns, name, d[i]!, d[i + 1]!);
    }
  }
}

/** Per-consumer bookkeeping of what changed since each one's last take. */
export class ChangeTracker {
  /** Current generation: stamped on every change. */
  gen = 1;
  readonly #since = [0, 0];
  readonly #listed: Counter[][] = [[], []];
  readonly #removals: (string | number)[][] = [[], []];
  readonly #active: (ChangeTake | undefined)[] = [undefined, undefined];

  /** Called before `c` changes: a take in progress copies its values as of the cut first. */
  beforeChange(c: Counter): void {
    if (c.marks >> PENDING_SHIFT) {
      for (const k of CONSUMERS) if (c.marks & (1 << (k + PENDING_SHIFT))) this.#active[k]!.gather(c);
    }
  }

  /** Called after `c` changed: every consumer will look at it in its next take. */
  changed(c: Counter): void {
    if ((c.marks & 3) === 3) return;
    for (const k of CONSUMERS) {
      if (!(c.marks & (1 << k))) {
        c.marks |= 1 << k;
        this.#listed[k]!.push(c);
      }
    }
  }

  /** Records an entry removed (expired) for every consumer. */
  removed(ns: string, name: string, key: number): void {
    for (const k of CONSUMERS) this.#removals[k]!.push(ns, name, key);
  }

  /** Whether `consumer`'s next take would hold anything. */
  hasChanges(consumer: ChangeConsumer): boolean {
    return this.#listed[consumer]!.length > 0 || this.#removals[consumer]!.length > 0;
  }

  /**
   * Begins a take for `consumer` of what changed since its last one, or of every
   * counter in `all` when given (a full take).
   */
  begin(consumer: ChangeConsumer, all: Iterable<Counter> | undefined): ChangeTake {
    if (this.#active[consumer]) throw new Error(`a take for consumer ${consumer} is already in progress`);
    const listed = this.#listed[consumer]!;
    this.#listed[consumer] = [];
    const listBit = 1 << consumer;
    for (const c of listed) c.marks &= ~listBit;
    const counters = all ? Array.from(all) : listed;
    if (all) for (const c of counters) c.marks &= ~listBit;
    const pending = 1 << (consumer + PENDING_SHIFT);
    for (const c of counters) c.marks |= pending;
    const since = all ? -1 : this.#since[consumer]!;
    const removals = this.#removals[consumer]!;
    this.#removals[consumer] = [];
    this.#since[consumer] = this.gen;
    this.gen++;
    const take = new ChangeTake(consumer, counters, since, all ? [] : removals, all !== undefined);
    this.#active[consumer] = take;
    return take;
  }

  /**
   * Ends a take. When its write failed (`written` false) everything it held is handed
   * out again by the next take: its counters are listed again, the consumer's
   * generation goes back, and its removals are kept.
   */
  end(take: ChangeTake, written: boolean): void {
    const k = take.consumer;
    if (this.#active[k] !== take) return;
    take.step(Infinity); // clears the pending marks left
    this.#active[k] = undefined;
    if (written) return;
    this.#since[k] = Math.max(0, Math.min(this.#since[k]!, take.since));
    const listBit = 1 << k;
    for (const c of take.covered) {
      if (!(c.marks & listBit)) {
        c.marks |= listBit;
        this.#listed[k]!.push(c);
      }
    }
    this.#removals[k] = take.removals.concat(this.#removals[k]!);
  }
}
