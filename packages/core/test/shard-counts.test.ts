import test from "ava";
import fc from "fast-check";
import {
  ALL_KEY,
  ChangeConsumer,
  type ChangeTake,
  DEFAULT_PERIODS,
  EventError,
  ShardCounts,
  bucketIndex,
  bucketKey,
} from "../src/index.js";
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

test("ShardCounts - a take hands out each changed entry once, with its latest value", (t) => {
  const c = new ShardCounts(["all", "day"]);
  c.apply("web", "a", 1, T0);
  c.apply("web", "a", 1, T0);
  c.apply("web", "b", 4, T0 + DAY);
  const dirty = take(c, ChangeConsumer.snapshot);
  const byKey = new Map(dirty.map((e) => [`${e.name}/${e.key}`, e.value]));
  t.is(dirty.length, 4);
  t.is(byKey.get(`a/${ALL_KEY}`), 2);
  t.is(byKey.get(`a/${key("day", T0)}`), 2);
  t.is(byKey.get(`b/${key("day", T0 + DAY)}`), 4);
  t.deepEqual(take(c, ChangeConsumer.snapshot), []);
  c.apply("web", "b", 1, T0 + DAY);
  t.deepEqual(
    take(c, ChangeConsumer.snapshot).map((e) => e.value),
    [5, 5],
  );
  // The checkpoint consumer keeps its own account: it has taken nothing yet.
  t.deepEqual(sorted(take(c, ChangeConsumer.checkpoint)), sorted(c.dump()));
});

test("ShardCounts - a take is a consistent cut: changes made while it is gathered belong to the next one", (t) => {
  const c = new ShardCounts(["all", "day"]);
  for (let i = 0; i < 100; i++) c.apply("web", `n${i}`, 1, T0);
  const before = sorted(c.dump());
  const tk = c.beginTake(ChangeConsumer.checkpoint);
  tk.step(10);
  for (let i = 0; i < 100; i++) c.apply("web", `n${i}`, 5, T0 + DAY); // changes counters not yet gathered
  c.apply("web", "new", 1, T0);
  gather(tk, 7);
  c.endTake(tk, true);
  t.deepEqual(sorted(entriesOf(tk.upserts)), before, "the take holds the values as of its start");
  const next = take(c, ChangeConsumer.checkpoint);
  t.is(next.length, 100 * 2 + 2, "every counter's all-time and new day bucket, plus the new counter");
  t.true(next.every((e) => e.name === "new" || e.key === ALL_KEY || e.value === 5));
});

test("ShardCounts - a full take holds every entry, loaded ones included; a failed take is handed out again", (t) => {
  const c = new ShardCounts(DEFAULT_PERIODS);
  c.load("web", "old", ALL_KEY, 7);
  c.load("web", "old", key("day", T0), 7);
  c.apply("web", "x", 2, T0);
  t.deepEqual(sorted(take(c, ChangeConsumer.checkpoint, true)), sorted(c.dump()));
  c.apply("web", "x", 1, T0);
  const failed = c.beginTake(ChangeConsumer.snapshot);
  gather(failed, 1);
  c.endTake(failed, false);
  c.apply("web", "y", 1, T0);
  const again = take(c, ChangeConsumer.snapshot);
  t.deepEqual(
    sorted(again).map((e) => `${e.name}=${e.value}`),
    sorted(c.dump().filter((e) => e.name !== "old")).map((e) => `${e.name}=${e.value}`),
  );
});

test("ShardCounts - retention: expired buckets are not counted into, swept, and reported as removals", (t) => {
  const HOUR = 3_600_000;
  const c = new ShardCounts(["all", "hour", "day"], { hour: 2 * HOUR });
  const now = T0;
  c.setNow(now);
  c.apply("web", "a", 1, now - 5 * HOUR); // hour expired on arrival: all-time and day only
  t.is(c.all("web", "a"), 1);
  t.is(c.bucket("web", "a", key("hour", now - 5 * HOUR)), 0);
  t.is(c.bucket("web", "a", key("day", now - 5 * HOUR)), 1);
  c.apply("web", "a", 1, now);
  take(c, ChangeConsumer.snapshot);
  t.is(c.entries, 1 + 1 + 1);
  c.setNow(now + 3 * HOUR + 1); // the hour of `now` ended more than 2 h ago
  t.deepEqual(c.sweep(100), { done: true, removed: 1 });
  t.is(c.bucket("web", "a", key("hour", now)), 0);
  t.is(c.entries, 2);
  const tk = c.beginTake(ChangeConsumer.snapshot);
  gather(tk, 10);
  c.endTake(tk, true);
  t.deepEqual(tk.removals, ["web", "a", key("hour", now)]);
  t.deepEqual(tk.upserts, [], "a removal is not a change of value");
  t.is(c.bucket("web", "a", key("day", now)), 2, "day is kept forever");
  c.load("web", "b", key("hour", now), 3);
  c.unload("web", "b", key("hour", now));
  t.is(c.bucket("web", "b", key("hour", now)), 0);
});

test("ShardCounts - dump then load rebuilds the same counts, and a load is not a change", (t) => {
  const a = new ShardCounts(DEFAULT_PERIODS);
  a.apply("web", "x", 3, T0);
  a.apply("api", "y", -1, T0 + 3 * DAY);
  const b = new ShardCounts(DEFAULT_PERIODS);
  for (const e of a.dump()) b.load(e.ns, e.name, e.key, e.value);
  t.deepEqual(sorted(b.dump()), sorted(a.dump()));
  t.is(b.entries, a.entries);
  t.deepEqual(take(b, ChangeConsumer.snapshot), [], "a load is clean");
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

function entriesOf(flat: (string | number)[]): CountEntry[] {
  const out: CountEntry[] = [];
  for (let i = 0; i < flat.length; i += 4) {
    const [ns, name, k, value] = flat.slice(i, i + 4) as [string, string, number, number];
    out.push({ ns, name, key: k, value });
  }
  return out;
}

function take(c: ShardCounts, consumer: ChangeConsumer, full = false): CountEntry[] {
  const tk = c.beginTake(consumer, full);
  gather(tk, 3);
  c.endTake(tk, true);
  return entriesOf(tk.upserts);
}

test("ShardCounts - a consumer that applies each written take (removals, then upserts) mirrors the counts exactly", (t) => {
  const HOUR = 3_600_000;
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("apply" as const),
      name: fc.constantFrom("a", "b", "c", "d"),
      delta: fc.integer({ min: -50, max: 50 }),
      hoursAgo: fc.integer({ min: 0, max: 4 }),
    }),
    fc.record({ kind: fc.constant("tick" as const), hours: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant("take" as const), budget: fc.integer({ min: 1, max: 3 }), ok: fc.boolean() }),
    fc.record({ kind: fc.constant("step" as const) }),
  );
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const c = new ShardCounts(["all", "hour", "day"], { hour: 2 * HOUR });
        const mirror = new Map<string, number>();
        let now = T0;
        c.setNow(now);
        let open: { tk: ReturnType<ShardCounts["beginTake"]>; ok: boolean; budget: number } | undefined;
        const finish = () => {
          if (!open) return;
          gather(open.tk, open.budget);
          c.endTake(open.tk, open.ok);
          if (open.ok) {
            const r = open.tk.removals;
            for (let i = 0; i < r.length; i += 3) mirror.delete(`${String(r[i + 1])}/${String(r[i + 2])}`);
            for (const e of entriesOf(open.tk.upserts)) mirror.set(`${e.name}/${e.key}`, e.value);
          }
          open = undefined;
        };
        for (const o of ops) {
          if (o.kind === "apply") c.apply("ns", o.name, o.delta, now - o.hoursAgo * HOUR);
          else if (o.kind === "tick") {
            now += o.hours * HOUR;
            c.setNow(now);
            sweepAll(c, 2);
          } else if (o.kind === "step") open?.tk.step(1);
          else {
            finish();
            open = { tk: c.beginTake(ChangeConsumer.checkpoint), ok: o.ok, budget: o.budget };
            open.tk.step(o.budget);
          }
        }
        finish();
        open = { tk: c.beginTake(ChangeConsumer.checkpoint), ok: true, budget: 1 };
        finish();
        const want = new Map(c.dump().map((e) => [`${e.name}/${e.key}`, e.value]));
        return want.size === mirror.size && [...want].every(([k, v]) => mirror.get(k) === v);
      }),
      { numRuns: 1000 },
    ),
  );
});

/** Steps a take to its end; a take that never ends fails the test instead of hanging it. */
function gather(tk: ChangeTake, budget: number): void {
  for (let i = 0; i < 100_000; i++) if (tk.step(budget)) return;
  throw new Error("a take did not end within 100,000 steps");
}

/** Sweeps a whole pass; a sweep that never ends fails the test instead of hanging it. */
function sweepAll(c: ShardCounts, budget: number): void {
  for (let i = 0; i < 100_000; i++) if (c.sweep(budget).done) return;
  throw new Error("a sweep did not end within 100,000 steps");
}
