import { bucketIndex, bucketIso, parseTime, type Period } from "@tally/core";

/** Exit codes the data commands share (`verify` has its own, see its help). */
export const Exit = {
  /** Done, and the output is complete. */
  ok: 0,
  /** Failed: the error is on stderr. */
  error: 1,
  /**
   * Done, but the output is not the whole answer: a `top` or `list` reply some shards did
   * not answer (partial), or `inc --stdin` lines that were skipped as bad.
   */
  incomplete: 3,
} as const;

/** A count as people read it: `1,234,567`. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * A bucket start (ISO-8601, UTC) as short as its period allows, in UTC:
 * `2026-11-20 10:05` (minute), `2026-11-20 10:00` (hour), `2026-11-20` (day, and week: its
 * Monday), `2026-11` (month), `2026` (year).
 */
export function bucketLabel(period: Period, iso: string | undefined): string {
  if (period === "all" || iso === undefined) return "all time";
  switch (period) {
    case "minute":
    case "hour":
      return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
    case "day":
    case "week":
      return iso.slice(0, 10);
    case "month":
      return iso.slice(0, 7);
    case "year":
      return iso.slice(0, 4);
  }
}

/** The bucket of `period` holding `at` as words for a heading: `all time`, `day 2026-11-20`, `week of 2026-11-16`. */
export function bucketHeading(period: Period, iso: string | undefined): string {
  if (period === "all" || iso === undefined) return "all time";
  return `${period === "week" ? "week of" : period} ${bucketLabel(period, iso)}`;
}

/**
 * Start (ISO-8601) of the bucket of `period` holding `at` (epoch ms or ISO-8601), as a node
 * computes it; undefined for `all`. Throws `EventError` (BAD_TS) for a bad time.
 */
export function bucketOf(period: Period, at: number | string): string | undefined {
  if (period === "all") return undefined;
  return bucketIso(period, bucketIndex(period, parseTime(at, "--at")));
}
