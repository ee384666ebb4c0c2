import { ErrorCode, RequestError, TallyError, preview } from "./errors.js";
import { MS_PER_DAY, daysFromCivil, monthIndexOfDay, yearIndexOfDay } from "./civil-date.js";

/**
 * Periods a counter is bucketed by. `all` is the single all-time bucket; the others are
 * UTC calendar buckets (`week` is the ISO week, starting Monday).
 */
export const Period = {
  all: "all",
  minute: "minute",
  hour: "hour",
  day: "day",
  week: "week",
  month: "month",
  year: "year",
} as const;

/** One of the {@link Period} strings. */
export type Period = (typeof Period)[keyof typeof Period];

/** A period with time buckets: every period but `all`. */
export type BucketPeriod = Exclude<Period, "all">;

/** Every period, finest first after `all`. */
export const PERIODS: readonly Period[] = ["all", "minute", "hour", "day", "week", "month", "year"];

/** Periods a namespace keeps unless configured otherwise. */
export const DEFAULT_PERIODS: readonly Period[] = ["all", "hour", "day", "week", "month"];

/** Small code per bucket period, the low 3 bits of a {@link bucketKey}. Never change these: they are persisted. */
export const PeriodCode: Readonly<Record<BucketPeriod, number>> = {
  minute: 1,
  hour: 2,
  day: 3,
  week: 4,
  month: 5,
  year: 6,
};

const PERIOD_SET: ReadonlySet<unknown> = new Set<unknown>(PERIODS);
const PERIOD_BY_CODE: readonly (BucketPeriod | undefined)[] = [
  undefined,
  "minute",
  "hour",
  "day",
  "week",
  "month",
  "year",
  undefined,
];

const MS_PER_MINUTE = 60_000;
const MS_PER_HOUR = 3_600_000;
// 1970-01-01 was a Thursday: shifting by 3 days puts week boundaries on Mondays, so week 0
// is the one starting Monday 1969-12-29 and 1970-01-05 starts week 1.
const WEEK_SHIFT_DAYS = 3;

/** Whether `x` is one of the {@link Period} strings. */
export function isPeriod(x: unknown): x is Period {
  return PERIOD_SET.has(x);
}

/**
 * Parse a comma-separated period list such as `"hour,day"` (spaces and empty items are
 * ignored). The result is deduplicated, in {@link PERIODS} order, and always contains `all`.
 * Throws `TallyError` `BAD_CONFIG` naming an unknown period.
 */
export function parsePeriods(csv: string): Period[] {
  const wanted = new Set<Period>(["all"]);
  for (const item of csv.split(",")) {
    const p = item.trim();
    if (p === "") continue;
    if (!isPeriod(p)) {
      throw new TallyError(ErrorCode.BAD_CONFIG, `unknown period ${preview(p)}; periods are ${PERIODS.join(", ")}`);
    }
    wanted.add(p);
  }
  return PERIODS.filter((p) => wanted.has(p));
}

/**
 * Index of the UTC bucket of `period` that contains epoch-millisecond time `ms`:
 * minutes, hours or days since the epoch, ISO weeks since the week of 1970-01-01, months
 * since 1970-01, or years since 1970. Negative before 1970. Allocation-free.
 *
 * @example
 * ```ts
 * bucketIndex('month', Date.UTC(1971, 1, 10)) // 13
 * ```
 */
export function bucketIndex(period: BucketPeriod, ms: number): number {
  switch (period) {
    case "minute":
      return Math.floor(ms / MS_PER_MINUTE);
    case "hour":
      return Math.floor(ms / MS_PER_HOUR);
    case "day":
      return Math.floor(ms / MS_PER_DAY);
    case "week":
      return Math.floor((Math.floor(ms / MS_PER_DAY) + WEEK_SHIFT_DAYS) / 7);
    case "month":
      return monthIndexOfDay(Math.floor(ms / MS_PER_DAY));
    case "year":
      return yearIndexOfDay(Math.floor(ms / MS_PER_DAY));
    default:
      throw badPeriod(period);
  }
}

/** Epoch milliseconds at which bucket `index` of `period` starts (inverse of {@link bucketIndex}). */
export function bucketStart(period: BucketPeriod, index: number): number {
  switch (period) {
    case "minute":
      return index * MS_PER_MINUTE;
    case "hour":
      return index * MS_PER_HOUR;
    case "day":
      return index * MS_PER_DAY;
    case "week":
      return (index * 7 - WEEK_SHIFT_DAYS) * MS_PER_DAY;
    case "month": {
      const y = Math.floor(index / 12);
      return daysFromCivil(1970 + y, index - y * 12 + 1, 1) * MS_PER_DAY;
    }
    case "year":
      return daysFromCivil(1970 + index, 1, 1) * MS_PER_DAY;
    default:
      throw badPeriod(period);
  }
}

function badPeriod(period: never): TallyError {
  return new TallyError(ErrorCode.INTERNAL, `not a bucket period: ${preview(period)}`);
}

/**
 * A single number identifying bucket `index` of `period`, for use as a map key:
 * `index * 8 + PeriodCode[period]`. Exact while |index| < 2^49.
 */
export function bucketKey(period: BucketPeriod, index: number): number {
  return index * 8 + PeriodCode[period];
}

/**
 * Inverse of {@link bucketKey}, negative indices included. Throws `TallyError` `INTERNAL`
 * for a number that no bucket key has.
 */
export function splitBucketKey(key: number): { period: BucketPeriod; index: number } {
  const code = ((key % 8) + 8) % 8;
  const period = Number.isInteger(key) ? PERIOD_BY_CODE[code] : undefined;
  if (period === undefined) {
    throw new TallyError(ErrorCode.INTERNAL, `not a bucket key: ${preview(key)}`);
  }
  return { period, index: (key - code) / 8 };
}

/**
 * Indices of every bucket of `period` from the one containing `fromMs` to the one
 * containing `toMs`, inclusive, ascending.
 *
 * Throws `RequestError` `BAD_REQUEST` if `fromMs > toMs`, `TOO_MANY_POINTS` if that would be
 * more than `maxPoints` buckets.
 */
export function seriesIndices(period: BucketPeriod, fromMs: number, toMs: number, maxPoints: number): number[] {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) {
    throw new RequestError(ErrorCode.BAD_REQUEST, `series bounds must be finite, got ${fromMs} .. ${toMs}`);
  }
  if (fromMs > toMs) {
    throw new RequestError(ErrorCode.BAD_REQUEST, `"from" (${fromMs}) is after "to" (${toMs})`);
  }
  const first = bucketIndex(period, fromMs);
  const count = bucketIndex(period, toMs) - first + 1;
  if (count > maxPoints) {
    throw new RequestError(
      ErrorCode.TOO_MANY_POINTS,
      `the range spans ${count} ${period} buckets, more than the limit of ${maxPoints}; ` +
        "use a coarser period or a narrower range",
    );
  }
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = first + i;
  return out;
}
