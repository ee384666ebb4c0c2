import test from "ava";
import fc from "fast-check";
import { ALL_KEY, DEFAULT_PERIODS, EventError, ShardCounts, bucketIndex, bucketKey } from "../src/index.js";
import type { BucketPeriod, CountEntry } from "../src/index.js";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 20, 10, 30); // Friday 2026-11-20 10:30 UTC
const BUCKETS = DEFAULT_PERIODS.filter((p): p is BucketPeriod => p !== "all");
const key = (p: BucketPeriod, ts: number) => bucketKey(p, bucketIndex(p, ts));

test("ShardCounts - apply adds the delta to all-time and to the bucket of each period that holds ts", (t) => {
  const c = new ShardCounts(DEFAULT_PERIODS);
  c.apply("web", "home", 5, T0);
  c.apply("web", "home", -2, T0 + DAY);
  t.is(c.all("web", "home"), 3);
  t.is(c.bucket("web", "home", key("day", T0)), 5);
  t.is(c.bucket("web", "home", key("day", T0 + DAY)), -2);
  t.is(c.bucket("web", "home", key("month", T0)), 3);
  t.is(c.bucket("web", "home", key("hour", T0)), 5);
  t.is(c.counters, 1);
  // all-time + hour×2 + day×2 + week×2 (Fri, Sat share a week: 1) + month×1
  t.is(c.entries, 1 + 2 + 2 + 1 + 1);
});

test("ShardCounts - a counter never seen reads 0 everywhere", (t) => {
  const c = new ShardCounts(DEFAULT_PERIODS);
  t.is(c.all("web", "nope"), 0);
  t.is(c.bucket("web", "nope", key("day", T0)), 0);
  t.is(c.entries, 0);
});

test("ShardCounts - a period not kept gets no bucket", (t) => {
  const c = new ShardCounts(["all", "day"]);
  c.apply("web", "home", 1, T0);
  t.is(c.bucket("web", "home", key("hour", T0)), 0);
  t.is(c.entries, 2);
});

test("ShardCounts - COUNT_OVERFLOW refuses the whole update and changes nothing", (t) => {
  const c = new ShardCounts(DEFAULT_PERIODS);
  c.apply("web", "big", Number.MAX_SAFE_INTEGER - 1, T0);
  const before = c.dump();
  const err = t.throws(() => c.apply("web", "big", 2, T0), { instanceOf: EventError });
  t.is(err.code, "COUNT_OVERFLOW");
  t.deepEqual(c.dump(), before);
  // A bucket elsewhere would not overflow, but all-time would: still all or nothing.
  t.throws(() => c.apply("web", "big", 2, T0 + 40 * DAY), { instanceOf: EventError });
  t.deepEqual(c.dump(), before);
});

test("ShardCounts - takeDirty hands out each changed entry once, with its latest value", (t) => {
  const c = new ShardCounts(["all", "day"]);
  c.apply("web", "a", 1, T0);
  c.apply("web", "a", 1, T0);
  c.apply("web", "b", 4, T0 + DAY);
  const dirty = c.takeDirty();
  const byKey = new Map(dirty.map((e) => [`${e.name}/${e.key}`, e.value]));
  t.is(dirty.length, 4);
  t.is(byKey.get(`a/${ALL_KEY}`), 2);
  t.is(byKey.get(`a/${key("day", T0)}`), 2);
  t.is(byKey.get(`b/${key("day", T0 + DAY)}`), 4);
  t.deepEqual(c.takeDirty(), []);
  c.apply("web", "b", 1, T0 + DAY);
  t.deepEqual(
    c.takeDirty().map((e) => e.value),
    [5, 5],
  );
});

test("ShardCounts - dump then load rebuilds the same counts; load can mark entries dirty", (t) => {
  const a = new ShardCounts(DEFAULT_PERIODS);
  a.apply("web", "x", 3, T0);
  a.apply("api", "y", -1, T0 + 3 * DAY);
  const b = new ShardCounts(DEFAULT_PERIODS);
  for (const e of a.dump()) b.load(e);
  t.deepEqual(sorted(b.dump()), sorted(a.dump()));
  t.is(b.entries, a.entries);
  t.deepEqual(b.takeDirty(), [], "a plain load is clean");
  const c = new ShardCounts(DEFAULT_PERIODS);
  for (const e of a.dump()) c.load(e, true);
  t.deepEqual(sorted(c.takeDirty()), sorted(a.dump()), "a dirty load is written by the next snapshot");
});

test("ShardCounts - any sequence of events: all-time and every bucket equal the sums the test computes", (t) => {
  const event = fc.record({
    name: fc.constantFrom("a", "b", "c"),
    delta: fc.integer({ min: -1000, max: 1000 }),
    ts: fc.integer({ min: T0 - 60 * DAY, max: T0 + 60 * DAY }),
  });
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(event, { maxLength: 200 }), (events) => {
        const c = new ShardCounts(DEFAULT_PERIODS);
        const truth = new Map<string, number>();
        const add = (k: string, d: number) => truth.set(k, (truth.get(k) ?? 0) + d);
        for (const e of events) {
          c.apply("ns", e.name, e.delta, e.ts);
          add(`${e.name}/all`, e.delta);
          for (const p of BUCKETS) add(`${e.name}/${key(p, e.ts)}`, e.delta);
        }
        for (const [k, v] of truth) {
          const [name, b] = k.split("/") as [string, string];
          const got = b === "all" ? c.all("ns", name) : c.bucket("ns", name, Number(b));
          if (got !== v) return false;
        }
        // Every entry held is one the truth knows, and a dump reloads to the same entries.
        return c.entries === truth.size && c.dump().length === truth.size;
      }),
    ),
  );
});

function sorted(entries: CountEntry[]): CountEntry[] {
  return [...entries].sort((x, y) => `${x.ns}/${x.name}/${x.key}`.localeCompare(`${y.ns}/${y.name}/${y.key}`));
}
