/**
 * The shape of the bulk state: K counters × E events each, `spacingHours` apart and ending
 * at one fixed instant, under the default periods (all, hour, day, week, month). Each event
 * lands in a new hour, day and week bucket of its counter, so a few million entries take
 * about a third as many events. The entries per counter are computed with the model's own
 * bucketing, so the counter count gives the wanted entries.
 */
import { DEFAULT_PERIODS, bucketIndex, encodeEventJson, type BucketPeriod } from "@tally/core";

const HOUR = 3_600_000;

/** The bulk state to fill, and the bodies of its events. */
export interface FillShape {
  /** Event time of every counter's newest event (the buckets later loads count into). */
  endTs: number;
  counters: number;
  eventsPerCounter: number;
  /** Entries of one counter once filled, all-time included. */
  entriesPerCounter: number;
  /** counters × entriesPerCounter. */
  entries: number;
  events: number;
  /** Entries one more event at `endTs` changes: all-time and one bucket per period. */
  entriesPerEvent: number;
  /** Body of the `j`-th event of every counter (`j = 0` is the newest). */
  bodies: Uint8Array[];
  /** Entries held after the first `e` events (event `i` goes to counter `i % counters`, as its `⌊i / counters⌋`-th). */
  entriesAfter(e: number): number;
  /** The fewest events after which at least `entries` entries are held. */
  eventsFor(entries: number): number;
}

/** A shape of about `entries` entries (rounded up to whole counters). */
export function fillShape(entries: number, eventsPerCounter: number, spacingHours: number, endTs: number): FillShape {
  const periods = DEFAULT_PERIODS.filter((p): p is BucketPeriod => p !== "all");
  const ts = Array.from({ length: eventsPerCounter }, (_, j) => endTs - j * spacingHours * HOUR);
  // Entries the j-th event of a counter adds: its new buckets (and all-time for the first).
  const added = ts.map((t, j) => {
    let n = j === 0 ? 1 : 0;
    for (const p of periods) if (!ts.slice(0, j).some((u) => bucketIndex(p, u) === bucketIndex(p, t))) n++;
    return n;
  });
  const perCounter = added.reduce((a, b) => a + b, 0);
  const counters = Math.ceil(entries / perCounter);
  const entriesAfter = (e: number) => {
    const full = Math.floor(e / counters);
    let n = 0;
    for (let j = 0; j < full; j++) n += counters * added[j]!;
    return n + (full < added.length ? (e % counters) * added[full]! : 0);
  };
  const events = counters * eventsPerCounter;
  const eventsFor = (want: number) => {
    let lo = 0;
    let hi = events;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (entriesAfter(mid) >= want) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  return {
    endTs,
    counters,
    eventsPerCounter,
    entriesPerCounter: perCounter,
    entries: counters * perCounter,
    events,
    entriesPerEvent: 1 + periods.length,
    bodies: ts.map((t) => encodeEventJson(1, t)),
    entriesAfter,
    eventsFor,
  };
}
