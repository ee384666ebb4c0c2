import { bucketIndex, splitBucketKey, type BucketPeriod } from "@tally/core";
import type { LogWindow } from "./verify-recount.js";
import type { RecountedCounter } from "./verify-tally.js";

/**
 * Whether bucket `bucketIndex` of `period` is still kept at `nowMs` (retention). Expiry
 * must go oldest first: once a bucket is kept, every later one is too.
 */
export type IsRetained = (period: BucketPeriod, bucketIndex: number, nowMs: number) => boolean;

/** The default {@link IsRetained}: every bucket is kept. */
export const ALWAYS_RETAINED: IsRetained = () => true;

/** One read of the compare phase: a counter's all-time value, or a series of buckets. */
export type PlannedRead =
  | { counter: RecountedCounter; period: "all" }
  | { counter: RecountedCounter; period: BucketPeriod; first: number; last: number };

/** What planning a counter's reads needs. */
export interface PlanSettings {
  periods: readonly BucketPeriod[];
  window: LogWindow;
  isRetained: IsRetained;
  nowMs: number;
  /** Most buckets in one series read (the nodes' `maxSeriesPoints`). */
  maxPoints: number;
  /**
   * Empty buckets between two that must be read are read too (and must be 0) when there
   * are at most this many; farther apart, they become separate reads.
   * @default 32
   */
  gap?: number;
}

/**
 * Index of the first bucket of `period` the log vouches for: every bucket when it is
 * complete, else the first that starts after its first event's stored time (the
 * events it dropped were stored at or before that instant, so they sit in earlier
 * buckets — unless their `ts` put them elsewhere). +Infinity for an empty log that
 * has dropped events.
 */
export function firstCheckedIndex(period: BucketPeriod, window: LogWindow): number {
  if (window.complete) return -Infinity;
  if (window.firstStoredMs === undefined) return Infinity;
  return bucketIndex(period, window.firstStoredMs) + 1;
}

/**
 * Buckets of `period` spanned by the log's stored times, from the first checked one to
 * the one of the last event recounted: each is read, so a bucket served with a value
 * where the log has none is found too. Undefined when the log spans none.
 */
export function logSpan(period: BucketPeriod, window: LogWindow): [number, number] | undefined {
  if (window.firstStoredMs === undefined || window.lastStoredMs === undefined) return undefined;
  const lo = window.complete ? bucketIndex(period, window.firstStoredMs) : firstCheckedIndex(period, window);
  const hi = bucketIndex(period, window.lastStoredMs);
  return lo <= hi ? [lo, hi] : undefined;
}

/**
 * The reads that compare `c` with what the nodes serve: per period, the log's span plus
 * every recounted bucket outside it (events with an explicit `ts`), merged into runs,
 * without expired buckets, cut into series of at most `maxPoints`; and the all-time
 * value when the log is complete. None for a counter with no counted event.
 */
export function planCounterReads(c: RecountedCounter, s: PlanSettings): PlannedRead[] {
  if (c.counted === 0) return [];
  const out: PlannedRead[] = [];
  const indices = new Map<BucketPeriod, number[]>();
  for (const k of c.buckets.keys()) {
    const { period, index } = splitBucketKey(k);
    let list = indices.get(period);
    if (!list) indices.set(period, (list = []));
    list.push(index);
  }
  for (const p of s.periods) {
    const from = firstCheckedIndex(p, s.window);
    const own = (indices.get(p) ?? []).filter((i) => i >= from).sort((a, b) => a - b);
    for (const [start, last] of mergeRuns(logSpan(p, s.window), own, s.gap ?? 32)) {
      for (let a = firstRetained(p, start, last, s); a <= last; a += s.maxPoints) {
        out.push({ counter: c, period: p, first: a, last: Math.min(last, a + s.maxPoints - 1) });
      }
    }
  }
  if (s.window.complete) out.push({ counter: c, period: "all" });
  return out;
}

/**
 * Runs of bucket indices covering `span` and every index of `sorted` (ascending),
 * merging two when at most `gap` buckets lie between them.
 */
export function mergeRuns(
  span: [number, number] | undefined,
  sorted: readonly number[],
  gap: number,
): [number, number][] {
  const runs: [number, number][] = [];
  let i = 0;
  const take = (first: number, last: number) => {
    const cur = runs[runs.length - 1];
    if (cur && first - cur[1] <= gap + 1) cur[1] = Math.max(cur[1], last);
    else runs.push([first, last]);
  };
  for (; i < sorted.length && (span === undefined || sorted[i]! < span[0]); i++) take(sorted[i]!, sorted[i]!);
  if (span) take(span[0], span[1]);
  for (; i < sorted.length; i++) take(sorted[i]!, sorted[i]!);
  return runs;
}

/** First retained index in `first..last` (binary search: expiry goes oldest first), or `last + 1`. */
function firstRetained(p: BucketPeriod, first: number, last: number, s: PlanSettings): number {
  let lo = first;
  let hi = last + 1;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (s.isRetained(p, mid, s.nowMs)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
