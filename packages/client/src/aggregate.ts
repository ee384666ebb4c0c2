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

interface Cell {
  delta: number;
  events: number;
}

/** The open cells of one (ns, name): its subject, validated once, and a cell per minute. */
interface KeyCells {
  subject: string;
  cells: Map<number, Cell>;
  // Most adds land in the current minute: remembered to skip a map lookup.
  lastMinute: number;
  lastCell: Cell | undefined;
}

/**
 * Pre-aggregation of increments per (ns, name, minute of ts). The minute is the finest
 * period, so every period's bucket of the minute's start is the bucket of each event in
 * it: one delta per key, published with ts = the minute's start, counts exactly what
 * the separate events would. Pure: no I/O, no timers.
 */
export class Aggregate {
  // Two levels, so no (ns, name) pair can collide with another through a separator.
  #byNs = new Map<string, Map<string, KeyCells>>();
  // Sums that would have left the safe integer range, closed early as keys of their own.
  #spilled: AggregateEntry[] = [];
  #keys = 0;
  #events = 0;

  /** Distinct keys (cells) held. */
  get keys(): number {
    return this.#keys;
  }

  /** `add` calls held. */
  get events(): number {
    return this.#events;
  }

  /**
   * Adds `delta` for (ns, name) at `ts` (default now). Throws `EventError` for a bad ns
   * or name (`BAD_SUBJECT`, `RESERVED_NAMESPACE`), delta (`BAD_DELTA`,
   * `DELTA_OUT_OF_RANGE`) or time (`BAD_TS`, `TS_OUT_OF_RANGE`), holding nothing of it.
   */
  add(ns: string, name: string, delta: number, ts: number | Date | string | undefined): void {
    checkDelta(delta);
    const t = ts === undefined ? Date.now() : typeof ts === "number" && isPlainTs(ts) ? ts : parseTime(ts, "ts");
    const minute = t - (t % MS_PER_MINUTE);
    const key = this.#key(ns, name);
    let cell = key.lastMinute === minute ? key.lastCell : undefined;
    if (cell === undefined) {
      cell = key.cells.get(minute);
      if (cell === undefined) {
        cell = { delta: 0, events: 0 };
        key.cells.set(minute, cell);
        this.#keys++;
      }
      key.lastMinute = minute;
      key.lastCell = cell;
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
    for (const names of this.#byNs.values()) {
      for (const key of names.values()) {
        for (const [minute, cell] of key.cells) {
          out.push({ subject: key.subject, minute, delta: cell.delta, events: cell.events });
        }
      }
    }
    this.#byNs = new Map();
    this.#spilled = [];
    this.#keys = 0;
    this.#events = 0;
    return out;
  }

  #key(ns: string, name: string): KeyCells {
    let names = this.#byNs.get(ns);
    let key = names?.get(name);
    if (key !== undefined) return key;
    // Validated once per key and batch; throws before anything is held.
    const subject = eventSubject(ns, encodeName(name));
    if (names === undefined) {
      names = new Map();
      this.#byNs.set(ns, names);
    }
    key = { subject, cells: new Map(), lastMinute: Number.NaN, lastCell: undefined };
    names.set(name, key);
    return key;
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
