/**
 * The counters bench/namespace.ts fills and reads: their names, their events (deterministic, a
 * few per counter, spread over days, with skewed deltas) and the ground truth of every top and
 * list reply, computed here from the same events.
 */
import { compareNames, compareTopItems, encodeName, type TopItem } from "@tally/core";
import { SPREAD_DAYS } from "./options.js";

export const DAY_MS = 86_400_000;

/**
 * Name of counter `k`: mostly `p<k>`; every 50th `checkout-<k>` (what the prefix list finds);
 * every 97th `site.example/<k>`, a name with a dot (percent-encoded on the wire).
 */
export function nameOf(k: number): string {
  if (k % 97 === 0) return `site.example/${k}`;
  if (k % 50 === 0) return `checkout-${k}`;
  return `p${k}`;
}

/** A 32-bit integer hash of `i` and `salt` (murmur3's finaliser), for uniform draws in [0, 1). */
function draw(i: number, salt: number): number {
  let h = Math.imul(i ^ Math.imul(salt, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/** One event: its counter, delta and event time. */
export interface BenchEvent {
  counter: number;
  delta: number;
  ts: number;
}

/**
 * Event `i` of `counters` counters, `i` from 0 to counters × eventsPerCounter − 1: counter
 * `i % counters` (so a round-robin publish over the counters' subjects sends it to the right
 * one), a delta from 1 to 100,001 skewed towards 1 (u⁸), at a time uniform over the
 * {@link SPREAD_DAYS} days before `now`.
 */
export function eventOf(i: number, counters: number, now: number, salt = 1): BenchEvent {
  return {
    counter: i % counters,
    delta: 1 + Math.floor(draw(i, salt) ** 8 * 100_000),
    ts: now - Math.floor(draw(i, salt + 1) * SPREAD_DAYS * DAY_MS),
  };
}

/** The JSON body of an event. */
export const eventBody = (e: BenchEvent): Uint8Array =>
  new TextEncoder().encode(JSON.stringify({ delta: e.delta, ts: e.ts }));

/** The event subject of counter `k` of `ns` (its name encoded). */
export const eventSubject = (ns: string, k: number): string => `count.${ns}.${encodeName(nameOf(k))}`;

/** The longest top the bench asks for: the ground truth keeps no more. */
export const MAX_TOP = 1000;

/**
 * What every top and list reply of the filled namespace must be. Compact for a million
 * counters: values in typed arrays, the tops cut to {@link MAX_TOP} items.
 */
export class GroundTruth {
  /** Every name, sorted as the replies sort them. */
  readonly sortedNames: string[];
  /** All-time values, index = counter. */
  readonly all: Float64Array;
  /** Days since the epoch of the day bucket read. */
  readonly dayIndex: number;
  /** Counters with a value in the day bucket read. */
  readonly inDay: number;
  readonly #topAll: TopItem[];
  readonly #topDay: TopItem[];

  /** The truth after `counters` × `perCounter` events {@link eventOf}(i, counters, now), day bucket `dayIndex`. */
  constructor(counters: number, perCounter: number, now: number, dayIndex: number) {
    this.dayIndex = dayIndex;
    this.all = new Float64Array(counters);
    const day = new Float64Array(counters); // 0: no event that day (every delta is at least 1)
    for (let i = 0; i < counters * perCounter; i++) {
      const e = eventOf(i, counters, now);
      this.all[e.counter]! += e.delta;
      if (Math.floor(e.ts / DAY_MS) === dayIndex) day[e.counter]! += e.delta;
    }
    const names = Array.from({ length: counters }, (_, k) => nameOf(k));
    this.#topAll = topOf(names, this.all);
    this.#topDay = topOf(names, day);
    this.inDay = day.reduce((n, v) => (v > 0 ? n + 1 : n), 0);
    this.sortedNames = names.sort(compareNames);
  }

  /** The expected `items` of a top of `period` with `limit` (at most {@link MAX_TOP}). */
  top(period: "day" | "all", limit: number): TopItem[] {
    if (limit > MAX_TOP) throw new Error(`the ground truth keeps the top ${MAX_TOP} only`);
    return (period === "day" ? this.#topDay : this.#topAll).slice(0, limit);
  }

  /** The expected `names` and `next` of a list of `all` (every name). */
  list(prefix: string, after: string, limit: number): { names: string[]; next?: string } {
    const match = this.sortedNames.filter((n) => n > after && n.startsWith(prefix));
    const names = match.slice(0, limit);
    return match.length > limit ? { names, next: names[names.length - 1]! } : { names };
  }
}

/**
 * The {@link MAX_TOP} best of the counters with a value (`values[k] > 0`), ordered as a top
 * reply: the candidates at or above the MAX_TOP-th largest value (ties included), then sorted.
 */
function topOf(names: string[], values: Float64Array): TopItem[] {
  const positive = values.filter((v) => v > 0).sort(); // a typed array sorts numerically
  if (positive.length === 0) return [];
  const cut = positive[Math.max(0, positive.length - MAX_TOP)]!;
  const items: TopItem[] = [];
  for (let k = 0; k < values.length; k++) if (values[k]! >= cut) items.push({ name: names[k]!, value: values[k]! });
  return items.sort(compareTopItems).slice(0, MAX_TOP);
}
