import { ErrorCode, TallyError, preview } from "./errors.js";
import { bucketIndex, bucketStart, type BucketPeriod } from "./periods.js";

/**
 * How long each period keeps its buckets after they end, in milliseconds. A period
 * that is absent keeps its buckets forever; all-time is always kept.
 */
export type Retention = Partial<Record<BucketPeriod, number>>;

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Longest duration accepted anywhere: 1000 years. */
export const MAX_DURATION_MS = 1000 * 366 * 86_400_000;

/** Periods whose buckets expire unless told otherwise, and after how long. */
export const DEFAULT_RETENTION: Readonly<Retention> = { minute: 48 * UNITS.h!, hour: 90 * UNITS.d! };

/**
 * Parses a duration such as `90d`, `48h`, `30m`, `10s`, `2w`, `500ms` or `1h30m`
 * (units ms, s, m, h, d, w; no unit means ms). Throws `TallyError` `BAD_CONFIG`
 * naming `what` for anything else, zero, or more than {@link MAX_DURATION_MS}.
 */
export function parseDuration(text: string, what: string): number {
  const s = text.trim();
  let total = 0;
  let rest = s;
  if (/^[0-9]+$/.test(s)) total = Number(s);
  else {
    while (rest !== "") {
      const m = /^([0-9]+)(ms|s|m|h|d|w)/.exec(rest);
      if (!m) throw badDuration(text, what);
      total += Number(m[1]) * UNITS[m[2]!]!;
      rest = rest.slice(m[0].length);
    }
  }
  if (s === "" || !Number.isSafeInteger(total) || total <= 0 || total > MAX_DURATION_MS) throw badDuration(text, what);
  return total;
}

function badDuration(text: string, what: string): TallyError {
  return new TallyError(
    ErrorCode.BAD_CONFIG,
    `${what}: ${preview(text)} is not a duration; use a positive number with a unit, e.g. 90d, 48h, 30m, 10s, 2w`,
  );
}

/** Formats milliseconds in the largest unit that divides them: `90d`, `48h`, `1500ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ["w", UNITS.w!],
    ["d", UNITS.d!],
    ["h", UNITS.h!],
    ["m", UNITS.m!],
    ["s", UNITS.s!],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const BUCKET_PERIODS: readonly BucketPeriod[] = ["minute", "hour", "day", "week", "month", "year"];

/**
 * Parses `minute=48h,hour=90d` into a {@link Retention}. `P=forever` keeps a period's
 * buckets forever (it removes a default). Periods not named keep their value in `base`
 * (the defaults, or the cluster's current setting). Throws `BAD_CONFIG` naming the bad item.
 */
export function parseRetention(csv: string, base: Readonly<Retention> = DEFAULT_RETENTION): Retention {
  const out: Retention = { ...base };
  for (const item of csv.split(",")) {
    const t = item.trim();
    if (t === "") continue;
    const eq = t.indexOf("=");
    const period = t.slice(0, eq).trim() as BucketPeriod;
    if (eq < 0 || !BUCKET_PERIODS.includes(period)) {
      throw new TallyError(
        ErrorCode.BAD_CONFIG,
        `retention ${preview(t)}: expected PERIOD=DURATION with PERIOD one of ${BUCKET_PERIODS.join(", ")} (all-time is always kept)`,
      );
    }
    const value = t.slice(eq + 1).trim();
    if (value === "forever") delete out[period];
    else out[period] = parseDuration(value, `retention of ${period}`);
  }
  return out;
}

/** Formats a retention for humans and for `tally init`: `minute=48h,hour=90d` (forever periods left out). */
export function formatRetention(r: Readonly<Retention>): string {
  const parts = BUCKET_PERIODS.filter((p) => r[p] !== undefined).map((p) => `${p}=${formatDuration(r[p]!)}`);
  return parts.length ? parts.join(",") : "forever";
}

/**
 * Index of the oldest bucket of `period` still retained at `nowMs`: a bucket expires
 * once its end plus the retention has passed (`end + keepMs <= now`). With no
 * retention every bucket is kept (`-Infinity`).
 */
export function firstRetainedIndex(period: BucketPeriod, keepMs: number | undefined, nowMs: number): number {
  if (keepMs === undefined) return -Infinity;
  // The bucket containing (now - keep) ends after it, so it is the first one kept.
  return bucketIndex(period, nowMs - keepMs);
}

/** Start (epoch ms) of the oldest retained bucket of `period`, or undefined when all are kept. */
export function retainedFrom(period: BucketPeriod, keepMs: number | undefined, nowMs: number): number | undefined {
  if (keepMs === undefined) return undefined;
  return bucketStart(period, firstRetainedIndex(period, keepMs, nowMs));
}
