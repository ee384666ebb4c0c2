import test from "ava";
import { bucketIndex, bucketStart, type BucketPeriod } from "@tally/core";
import {
  ALWAYS_RETAINED,
  firstCheckedIndex,
  logSpan,
  mergeRuns,
  planCounterReads,
  type PlanSettings,
  type PlannedRead,
} from "../src/admin/verify-plan.js";
import type { LogWindow } from "../src/admin/verify-recount.js";
import { RecountTally } from "../src/admin/verify-tally.js";
import { explainedByLaterEvents } from "../src/admin/verify-settle.js";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 10, 30); // 10:30
const hour = (ms: number) => bucketIndex("hour", ms);

const truncated = (first: number, last: number): LogWindow => ({
  complete: false,
  firstStoredMs: first,
  lastStoredMs: last,
});

test("verify plan - a truncated log vouches only for buckets starting after its first event", (t) => {
  const w = truncated(T0, T0 + 5 * HOUR);
  t.is(firstCheckedIndex("hour", w), hour(T0) + 1, "the hour holding the first event may hold dropped ones");
  // An event exactly on a boundary: events dropped in that same millisecond share its bucket.
  t.is(firstCheckedIndex("hour", truncated(bucketStart("hour", 100), T0)), 101);
  t.is(firstCheckedIndex("day", { complete: true, firstStoredMs: T0, lastStoredMs: T0 }), -Infinity);
  t.is(firstCheckedIndex("day", { complete: false, firstStoredMs: undefined, lastStoredMs: undefined }), Infinity);
  t.deepEqual(logSpan("hour", w), [hour(T0) + 1, hour(T0) + 5]);
  t.deepEqual(logSpan("hour", { ...w, complete: true }), [hour(T0), hour(T0) + 5]);
  t.is(logSpan("day", w), undefined, "one day, not after the first event: nothing to read");
});

test("verify plan - mergeRuns covers the span and every index, merging those at most `gap` apart", (t) => {
  t.deepEqual(mergeRuns([10, 20], [1, 12, 25, 40, 41], 4), [
    [1, 1],
    [10, 25],
    [40, 41],
  ]);
  t.deepEqual(mergeRuns(undefined, [3, 5, 20], 1), [
    [3, 5],
    [20, 20],
  ]);
  t.deepEqual(mergeRuns([0, 0], [], 32), [[0, 0]]);
});

function settings(over: Partial<PlanSettings> = {}): PlanSettings {
  return {
    periods: ["hour", "day"],
    window: truncated(T0 - 10 * HOUR, T0 + 2 * HOUR),
    isRetained: ALWAYS_RETAINED,
    nowMs: T0,
    maxPoints: 1000,
    ...over,
  };
}

const series = (reads: PlannedRead[], p: BucketPeriod) =>
  reads.flatMap((r) => (r.period === p ? [[r.first, r.last]] : []));

test("verify plan - reads the log's span and far buckets apart, in series of at most maxPoints", (t) => {
  const tally = new RecountTally(["all", "hour", "day"]);
  const c = tally.counter("web", "home");
  tally.apply(c, 1, T0);
  tally.apply(c, 1, T0 + 400 * HOUR); // an explicit ts far ahead
  tally.apply(c, 1, T0 - 100 * HOUR); // before the log: not checked
  const reads = planCounterReads(c, settings({ maxPoints: 5 }));
  const lo = hour(T0 - 10 * HOUR) + 1;
  t.deepEqual(series(reads, "hour"), [
    [lo, lo + 4],
    [lo + 5, lo + 9],
    [lo + 10, hour(T0) + 2],
    [hour(T0) + 400, hour(T0) + 400],
  ]);
  t.deepEqual(series(reads, "day"), [[bucketIndex("day", T0) + 17, bucketIndex("day", T0) + 17]]);
  t.false(
    reads.some((r) => r.period === "all"),
    "no all-time read unless the log is complete",
  );
});

test("verify plan - a complete log adds the all-time read; expired buckets and empty counters are not read", (t) => {
  const tally = new RecountTally(["all", "hour"]);
  const c = tally.counter("web", "home");
  tally.apply(c, 1, T0);
  const complete = settings({ periods: ["hour"], window: { ...truncated(T0 - 10 * HOUR, T0), complete: true } });
  const reads = planCounterReads(c, complete);
  t.deepEqual(series(reads, "hour"), [[hour(T0) - 10, hour(T0)]]);
  t.true(reads.some((r) => r.period === "all"));

  const keepLast3: PlanSettings["isRetained"] = (p, i, now) => i >= bucketIndex(p, now) - 2;
  t.deepEqual(series(planCounterReads(c, { ...complete, isRetained: keepLast3 }), "hour"), [[hour(T0) - 2, hour(T0)]]);

  t.deepEqual(planCounterReads(tally.counter("web", "never-counted"), complete), []);
});

test("verify settle - a served value is explained by the recount plus a prefix of the bucket's later events", (t) => {
  const bucket = new Date(bucketStart("hour", hour(T0))).toISOString();
  const d = { ns: "web", name: "home", period: "hour" as const, bucket, expected: 10, served: 13 };
  const later = [
    { delta: 2, ts: T0 },
    { delta: 5, ts: T0 + HOUR }, // another hour: does not move this bucket
    { delta: 1, ts: T0 },
    { delta: 4, ts: T0 },
  ];
  t.true(explainedByLaterEvents(d, later));
  t.true(explainedByLaterEvents({ ...d, served: 10 }, later), "the node had applied none of them");
  t.true(explainedByLaterEvents({ ...d, served: 17 }, later), "all of them");
  t.false(explainedByLaterEvents({ ...d, served: 15 }, later), "2 + 5 mixes in another bucket");
  t.false(explainedByLaterEvents({ ...d, served: 16 }, later), "2 + 4 skips an event in between");
  t.false(explainedByLaterEvents({ ...d, served: null }, later));
  const all = { ...d, period: "all" as const, bucket: null, served: 17 };
  t.true(explainedByLaterEvents(all, later), "all-time: 10 + 2 + 5");
  t.false(explainedByLaterEvents({ ...all, served: 13 }, later));
});
