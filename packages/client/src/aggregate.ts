import { encodeName, ErrorCode, EventError, eventSubject, MAX_TS_MS, MIN_TS_MS, parseTime } from "@tally/core";

/** One pre-aggregated key of a batch: what one publish carries. */
export interface AggregateEntry {
  /** `count.<ns>.<encoded name>`. */
  subject: string;
  /** Start of the minute (epoch ms): the event time published for the whole key. */
  minute: number;
  /** Sum of the deltas added for the key. */
  delta: number;
  /** How many `add` calls the key holds. */
  events: number;
}

const MS_PER_MINUTE = 60_000;

/** One (key, minute) of the open batch. */
interface Cell {
  minute: number;
  delta: number;
  events: number;
}

/**
 * One (ns, name): its subject, validated once, and its cells in the open batch. It outlives
 * a drain (see {@link Aggregate}), so a key added batch after batch costs no validation,
 * encoding or allocation: `epoch` says whether its cells belong to the open batch.
 */
interface KeyState {
  subject: string;
  epoch: number;
  // Most adds of a batch land in one minute: that cell is kept inline, reused each batch.
  cell: Cell;
  // The key's other minutes in the open batch, if any.
  others: Map<number, Cell> | undefined;
}

/** Keys remembered across drains by default; see {@link Aggregate}. */
export const DEFAULT_KEY_CACHE_LIMIT = 100_000;

/**
 * Pre-aggregation of increments per (ns, name, minute of ts). The minute is the finest
 * period, so every period's bucket of the minute's start is the bucket of each event in
 * it: one delta per key, published with ts = the minute's start, counts exactly what
 * the separate events would. Pure: no I/O, no timers.
 *
 * Each (ns, name) is validated and encoded once and then remembered across drains, up to
 * `keyCacheLimit` of them: a drain that finds more forgets them all (they are validated
 * again when next added), so memory stays bounded for any number of distinct names.
 */
export class Aggregate {
  // Two levels, so no (ns, name) pair can collide with another through a separator.
  #byNs = new Map<string, Map<string, KeyState>>();
  #cached = 0;
  readonly #keyCacheLimit: number;
  // The namespace of the last add: most adds repeat it, so its map is at hand.
  #lastNs: string | undefined;
  #lastNames: Map<string, KeyState> | undefined;
  // Bumped by each drain: a key whose epoch differs holds nothing of the open batch.
  #epoch = 0;
  // The keys with cells in the open batch, in the order first added.
  #touched: KeyState[] = [];
  // Sums that would have left the safe integer range, closed early as keys of their own.
  #spilled: AggregateEntry[] = [];
  #keys = 0;
  #events = 0;
  // Start of the minute of the last add (times are ≥ 0, so `t - t % minute` is its floor).
  #minute = Number.NaN;

  /** @param keyCacheLimit - (ns, name) pairs remembered across drains. @default 100000 */
  constructor(keyCacheLimit = DEFAULT_KEY_CACHE_LIMIT) {
    this.#keyCacheLimit = keyCacheLimit;
  }

  /** Distinct keys (cells) held. */
  get keys(): number {
    return this.#keys;
  }

  /** `add` calls held. */
  get events(): number {
    return this.#events;
  }

  /** (ns, name) pairs remembered, validated, for later adds (held or not). */
  get cachedKeys(): number {
    return this.#cached;
  }

  /**
   * Adds `delta` for (ns, name) at `ts` (default now). Throws `EventError` for a bad ns
   * or name (`BAD_SUBJECT`, `RESERVED_NAMESPACE`), delta (`BAD_DELTA`,
   * `DELTA_OUT_OF_RANGE`) or time (`BAD_TS`, `TS_OUT_OF_RANGE`), holding nothing of it.
   */
  add(ns: string, name: string, delta: number, ts: number | Date | string | undefined): void {
    checkDelta(delta);
    const t = ts === undefined ? Date.now() : typeof ts === "number" && isPlainTs(ts) ? ts : parseTime(ts, "ts");
    // A floating-point `%` is a runtime call in V8: most adds fall in the last minute seen.
    let minute = this.#minute;
    if (!(t >= minute && t < minute + MS_PER_MINUTE)) {
      minute = t - (t % MS_PER_MINUTE);
      this.#minute = minute;
    }
    const key = this.#key(ns, name);
    let cell: Cell;
    if (key.epoch !== this.#epoch) {
      // The key's first add of this batch: its inline cell takes the minute.
      key.epoch = this.#epoch;
      key.others = undefined;
      cell = key.cell;
      cell.minute = minute;
      cell.delta = 0;
      cell.events = 0;
      this.#touched.push(key);
      this.#keys++;
    } else if (key.cell.minute === minute) {
      cell = key.cell;
    } else {
      key.others ??= new Map();
      let other = key.others.get(minute);
      if (other === undefined) {
        other = { minute, delta: 0, events: 0 };
        key.others.set(minute, other);
        this.#keys++;
      }
      cell = other;
    }
    const sum = cell.delta + delta;
    if (!Number.isSafeInteger(sum)) {
      this.#spilled.push({ subject: key.subject, minute, delta: cell.delta, events: cell.events });
      this.#keys++;
      cell.delta = delta;
      cell.events = 1;
    } else {
      cell.delta = sum;
      cell.events++;
    }
    this.#events++;
  }

  /** Takes every held key out, leaving the aggregate empty. */
  drain(): AggregateEntry[] {
    const out = this.#spilled;
    for (const key of this.#touched) {
      const { cell } = key;
      out.push({ subject: key.subject, minute: cell.minute, delta: cell.delta, events: cell.events });
      if (key.others === undefined) continue;
      for (const c of key.others.values()) {
        out.push({ subject: key.subject, minute: c.minute, delta: c.delta, events: c.events });
      }
      key.others = undefined;
    }
    this.#epoch++;
    this.#touched = [];
    this.#spilled = [];
    this.#keys = 0;
    this.#events = 0;
    if (this.#cached > this.#keyCacheLimit) {
      this.#byNs = new Map();
      this.#cached = 0;
      this.#lastNs = undefined;
      this.#lastNames = undefined;
    }
    return out;
  }

  #key(ns: string, name: string): KeyState {
    let names = ns === this.#lastNs ? this.#lastNames : this.#byNs.get(ns);
    const key = names?.get(name);
    if (key !== undefined) {
      this.#lastNs = ns;
      this.#lastNames = names;
      return key;
    }
    // Validated once; throws before anything is held.
    const subject = eventSubject(ns, encodeName(name));
    if (names === undefined) {
      names = new Map();
      this.#byNs.set(ns, names);
    }
    const state: KeyState = {
      subject,
      epoch: this.#epoch - 1,
      cell: { minute: 0, delta: 0, events: 0 },
      others: undefined,
    };
    names.set(name, state);
    this.#cached++;
    this.#lastNs = ns;
    this.#lastNames = names;
    return state;
  }
}

/** A number that is a valid event time as it is (the fast path of `parseTime`). */
function isPlainTs(ts: number): boolean {
  return Number.isInteger(ts) && ts >= MIN_TS_MS && ts <= MAX_TS_MS;
}

/** As `encodeEvent` judges a delta: a safe integer, else `BAD_DELTA` / `DELTA_OUT_OF_RANGE`. */
export function checkDelta(delta: unknown): asserts delta is number {
  if (typeof delta === "number" && Number.isSafeInteger(delta)) return;
  if (typeof delta === "number" && !Number.isNaN(delta) && Math.abs(delta) > Number.MAX_SAFE_INTEGER) {
    throw new EventError(ErrorCode.DELTA_OUT_OF_RANGE, `delta ${delta} is beyond ±${Number.MAX_SAFE_INTEGER}`);
  }
  throw new EventError(ErrorCode.BAD_DELTA, `delta ${String(delta)} is not an integer`);
}
