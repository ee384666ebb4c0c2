import test from "ava";
import fc from "fast-check";
import { DEFAULT_PERIODS, PERIODS, ShardCounts, bucketIndex, bucketKey, type BucketPeriod } from "@tally/core";
import { RecountTally } from "../src/admin/verify-tally.js";

const T0 = Date.UTC(2026, 10, 20, 10, 30);
const key = (p: BucketPeriod, ts: number) => bucketKey(p, bucketIndex(p, ts));

test("RecountTally - adds each event to all-time and to its bucket of every period", (t) => {
  const tally = new RecountTally(DEFAULT_PERIODS);
  t.deepEqual(tally.periods, ["hour", "day", "week", "month"]);
  const c = tally.counter("web", "home");
  t.true(tally.apply(c, 5, T0));
  t.true(tally.apply(c, -2, T0 + 86_400_000));
  t.is(c.all, 3);
  t.is(c.counted, 2);
  t.is(c.buckets.get(key("day", T0)), 5);
  t.is(c.buckets.get(key("day", T0 + 86_400_000)), -2);
  t.is(c.buckets.get(key("month", T0)), 3);
  t.is(tally.counter("web", "home"), c, "one object per counter");
  t.is(tally.find("web", "nope"), undefined);
  t.is(tally.size, 1);
});

test("RecountTally - an event that would leave the exact range is refused whole, as the node refuses it", (t) => {
  const tally = new RecountTally(DEFAULT_PERIODS);
  const c = tally.counter("web", "big");
  t.true(tally.apply(c, Number.MAX_SAFE_INTEGER - 1, T0));
  // Another hour: its hour bucket is fine, the all-time and day ones would overflow.
  t.false(tally.apply(c, 2, T0 + 3_600_000));
  t.is(c.all, Number.MAX_SAFE_INTEGER - 1);
  t.is(c.buckets.get(key("hour", T0 + 3_600_000)), undefined);
  t.is(c.counted, 1);
});

// The node's own model is the reference: same events in, same values out, the same
// events refused. Times span decades, so the per-minute memo of bucket keys is crossed
// in every direction.
test("RecountTally - gives the same values as the node's ShardCounts for any events (property)", (t) => {
  const ev = fc.record({
    name: fc.constantFrom("a", "b", "c"),
    delta: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom(2 ** 52, -(2 ** 52))),
    ts: fc.oneof(
      fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2040, 0, 1) }),
      fc.integer({ min: T0, max: T0 + 180_000 }),
    ),
  });
  fc.assert(
    fc.property(fc.subarray([...PERIODS]), fc.array(ev, { maxLength: 60 }), (periods, events) => {
      const tally = new RecountTally(periods);
      const node = new ShardCounts(periods);
      for (const e of events) {
        let nodeOk = true;
        try {
          node.apply("ns", e.name, e.delta, e.ts);
        } catch {
          nodeOk = false;
        }
        if (tally.apply(tally.counter("ns", e.name), e.delta, e.ts) !== nodeOk) return false;
      }
      for (const c of tally.counters()) {
        if (c.all !== node.all("ns", c.name)) return false;
        for (const [k, v] of c.buckets) if (v !== node.bucket("ns", c.name, k)) return false;
      }
      const entries = node.dump().filter((e) => e.key !== 0);
      return entries.every((e) => tally.find("ns", e.name)?.buckets.get(e.key) === e.value);
    }),
  );
  t.pass();
});
