import test from "ava";
import fc from "fast-check";
import {
  DEFAULT_PERIODS,
  ErrorCode,
  PERIODS,
  Period,
  PeriodCode,
  RequestError,
  TallyError,
  bucketIndex,
  bucketKey,
  bucketStart,
  isPeriod,
  parsePeriods,
  seriesIndices,
  splitBucketKey,
} from "../src/index.js";
import type { BucketPeriod } from "../src/index.js";

const BUCKET_PERIODS: readonly BucketPeriod[] = ["minute", "hour", "day", "week", "month", "year"];
const DAY = 86_400_000;
// The whole range a JS Date can represent (±100 million days around 1970).
const anyMs = fc.integer({ min: -8.64e15, max: 8.64e15 });
// Leaves room for the start of the enclosing week to stay within Date's range.
const weekMs = fc.integer({ min: -8.6e15, max: 8.6e15 });
const period = fc.constantFrom(...BUCKET_PERIODS);

test("Period - constants and lists", (t) => {
  t.deepEqual(Object.values(Period), ["all", "minute", "hour", "day", "week", "month", "year"]);
  t.deepEqual(PERIODS, Object.values(Period));
  t.deepEqual(DEFAULT_PERIODS, ["all", "hour", "day", "week", "month"]);
  t.deepEqual(PeriodCode, { minute: 1, hour: 2, day: 3, week: 4, month: 5, year: 6 });
});

test("isPeriod - only the period strings", (t) => {
  for (const p of PERIODS) t.true(isPeriod(p));
  for (const x of ["", "Day", "days", "toString", "__proto__", 1, null, undefined, {}]) t.false(isPeriod(x));
});

test("parsePeriods - dedups, orders and always includes all", (t) => {
  t.deepEqual(parsePeriods("day,hour"), ["all", "hour", "day"]);
  t.deepEqual(parsePeriods(" month , day,day,,all "), ["all", "day", "month"]);
  t.deepEqual(parsePeriods(""), ["all"]);
  t.deepEqual(parsePeriods("year,week,minute"), ["all", "minute", "week", "year"]);
});

test("parsePeriods - rejects unknown periods with BAD_CONFIG", (t) => {
  for (const csv of ["days", "hour,fortnight", "Hour", "hour;day"]) {
    const e = t.throws(() => parsePeriods(csv), { instanceOf: TallyError });
    t.is(e?.code, ErrorCode.BAD_CONFIG);
  }
});

test("bucketIndex - known values", (t) => {
  const ms = Date.UTC(2026, 10, 21, 10, 30, 15, 500); // Saturday 2026-11-21
  t.is(bucketIndex("minute", ms), Math.floor(ms / 60_000));
  t.is(bucketIndex("hour", ms), Math.floor(ms / 3_600_000));
  t.is(bucketIndex("day", ms), Math.floor(ms / DAY));
  t.is(bucketIndex("month", ms), (2026 - 1970) * 12 + 10);
  t.is(bucketIndex("year", ms), 56);
  t.is(bucketIndex("week", Date.UTC(1970, 0, 1)), 0);
  t.is(bucketIndex("week", Date.UTC(1970, 0, 4, 23, 59, 59, 999)), 0); // Sunday
  t.is(bucketIndex("week", Date.UTC(1970, 0, 5)), 1); // Monday
  t.is(bucketIndex("week", Date.UTC(1969, 11, 29)), 0); // Monday
  t.is(bucketIndex("week", Date.UTC(1969, 11, 28, 23, 59)), -1);
  t.is(bucketIndex("minute", -1), -1);
  t.is(bucketIndex("day", -1), -1);
  t.is(bucketIndex("month", -1), -1);
  t.is(bucketIndex("year", -1), -1);
  t.is(bucketIndex("month", Date.UTC(2000, 1, 29)), 30 * 12 + 1);
  t.is(bucketIndex("year", Date.UTC(9999, 11, 31, 23, 59, 59, 999)), 9999 - 1970);
});

test("bucketStart - known values", (t) => {
  t.is(bucketStart("month", 0), 0);
  t.is(bucketStart("month", 13), Date.UTC(1971, 1, 1));
  t.is(bucketStart("month", -1), Date.UTC(1969, 11, 1));
  t.is(bucketStart("month", -13), Date.UTC(1968, 11, 1));
  t.is(bucketStart("year", 30), Date.UTC(2000, 0, 1));
  t.is(bucketStart("year", -1), Date.UTC(1969, 0, 1));
  t.is(bucketStart("week", 1), Date.UTC(1970, 0, 5));
  t.is(bucketStart("week", 0), Date.UTC(1969, 11, 29));
  t.is(bucketStart("hour", 3), 3 * 3_600_000);
});

test("bucketIndex - month and year agree with Date for any time", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(anyMs, (ms) => {
        const d = new Date(ms);
        const y = d.getUTCFullYear();
        return bucketIndex("year", ms) === y - 1970 && bucketIndex("month", ms) === (y - 1970) * 12 + d.getUTCMonth();
      }),
      { numRuns: 5000 },
    ),
  );
});

test("bucketIndex - weeks are 7 days starting Monday 00:00 UTC", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(weekMs, (ms) => {
        const start = bucketStart("week", bucketIndex("week", ms));
        const d = new Date(start);
        return (
          d.getUTCDay() === 1 &&
          start % DAY === 0 &&
          start <= ms &&
          ms < start + 7 * DAY &&
          bucketStart("week", bucketIndex("week", ms) + 1) === start + 7 * DAY
        );
      }),
      { numRuns: 5000 },
    ),
  );
});

test("bucketStart - bucket of ms contains ms, for every period", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(period, anyMs, (p, ms) => {
        const i = bucketIndex(p, ms);
        return bucketStart(p, i) <= ms && ms < bucketStart(p, i + 1) && bucketIndex(p, bucketStart(p, i)) === i;
      }),
      { numRuns: 5000 },
    ),
  );
});

test("bucketStart - months start on day 1 and years on January 1, at midnight", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.integer({ min: -200_000, max: 200_000 }), (i) => {
        const m = new Date(bucketStart("month", i));
        const y = new Date(bucketStart("year", Math.trunc(i / 12)));
        return (
          m.getUTCDate() === 1 &&
          m.getUTCHours() === 0 &&
          m.getUTCMinutes() === 0 &&
          m.getUTCMonth() === ((i % 12) + 12) % 12 &&
          y.getUTCMonth() === 0 &&
          y.getUTCDate() === 1 &&
          y.getUTCFullYear() === 1970 + Math.trunc(i / 12)
        );
      }),
    ),
  );
});

test("bucketKey / splitBucketKey - round trip, negative indices included", (t) => {
  t.is(bucketKey("day", 0), 3);
  t.is(bucketKey("minute", 10), 81);
  t.deepEqual(splitBucketKey(bucketKey("week", -1)), { period: "week", index: -1 });
  t.notThrows(() =>
    fc.assert(
      fc.property(period, fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (p, i) => {
        const k = bucketKey(p, i);
        const s = splitBucketKey(k);
        return Number.isSafeInteger(k) && s.period === p && s.index === i;
      }),
      { numRuns: 3000 },
    ),
  );
});

test("bucketKey - distinct buckets get distinct keys", (t) => {
  const seen = new Map<number, string>();
  for (const p of BUCKET_PERIODS) {
    for (let i = -50; i <= 50; i++) {
      const k = bucketKey(p, i);
      t.false(seen.has(k), `${p} ${i} collides with ${seen.get(k)}`);
      seen.set(k, `${p} ${i}`);
    }
  }
});

test("splitBucketKey - rejects numbers that are no bucket key", (t) => {
  for (const k of [0, 8, -8, 7, 15, -1, 1.5, Number.NaN]) {
    const e = t.throws(() => splitBucketKey(k), { instanceOf: TallyError }, String(k));
    t.is(e?.code, ErrorCode.INTERNAL);
  }
});

test("seriesIndices - every bucket from from to to inclusive", (t) => {
  const from = Date.UTC(2026, 10, 20, 23, 59);
  const to = Date.UTC(2026, 10, 23, 0, 0);
  const d0 = bucketIndex("day", from);
  t.deepEqual(seriesIndices("day", from, to, 10), [d0, d0 + 1, d0 + 2, d0 + 3]);
  t.deepEqual(seriesIndices("day", from, from, 1), [d0]);
  t.deepEqual(seriesIndices("month", Date.UTC(2025, 11, 31), Date.UTC(2026, 1, 1), 3), [671, 672, 673]);
  t.deepEqual(seriesIndices("year", -1, 0, 2), [-1, 0]);
});

test("seriesIndices - from after to is BAD_REQUEST", (t) => {
  const e = t.throws(() => seriesIndices("day", 2 * DAY, DAY, 10), { instanceOf: RequestError });
  t.is(e?.code, ErrorCode.BAD_REQUEST);
});

test("seriesIndices - too many points is TOO_MANY_POINTS with a hint", (t) => {
  const e = t.throws(() => seriesIndices("minute", 0, DAY, 1000), { instanceOf: RequestError });
  t.is(e?.code, ErrorCode.TOO_MANY_POINTS);
  t.regex(e?.message ?? "", /1441 minute buckets.*coarser period or a narrower range/);
  t.is(seriesIndices("minute", 0, DAY - 1, 1440).length, 1440);
});

test("seriesIndices - property: consecutive, covering both ends", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(period, fc.integer({ min: 0, max: 2e12 }), fc.integer({ min: 0, max: 1e9 }), (p, from, span) => {
        const to = from + span;
        const out = seriesIndices(p, from, to, 1e9);
        return (
          out[0] === bucketIndex(p, from) &&
          out[out.length - 1] === bucketIndex(p, to) &&
          out.every((v, i) => v === out[0]! + i)
        );
      }),
    ),
  );
});
