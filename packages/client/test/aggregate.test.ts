import test from "ava";
import fc from "fast-check";
import { bucketIndex, encodeName, EventError, PERIODS, type Period } from "@tally/core";
import { Aggregate, type AggregateEntry } from "../src/aggregate.js";

const MINUTE = 60_000;
const BASE = Date.UTC(2026, 10, 30, 23, 58); // minutes before a day, week and month change

/** Sum of deltas per (subject, period, bucket): what the node would count. */
function counts(events: { subject: string; delta: number; ts: number }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of events) {
    for (const p of PERIODS) {
      const k = `${e.subject}|${p}|${p === "all" ? "" : bucketIndex(p as Exclude<Period, "all">, e.ts)}`;
      out.set(k, (out.get(k) ?? 0) + e.delta);
    }
  }
  for (const [k, v] of out) if (v === 0) out.delete(k);
  return out;
}

const asEvents = (entries: AggregateEntry[]) =>
  entries.map((e) => ({ subject: e.subject, delta: e.delta, ts: e.minute }));

test("aggregate - one entry per (ns, name, minute) whose buckets equal the separate events' in every period", (t) => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          ns: fc.constantFrom("web", "app"),
          name: fc.constantFrom("home", "example.com/a", "a b", "x"),
          delta: fc.integer({ min: -5, max: 5 }),
          // Across minute, hour, day, week (Monday) and month boundaries.
          ts: fc.integer({ min: BASE - 3 * MINUTE, max: BASE + 5 * MINUTE }),
        }),
        { maxLength: 200 },
      ),
      (adds) => {
        const agg = new Aggregate();
        for (const a of adds) agg.add(a.ns, a.name, a.delta, a.ts);
        t.is(agg.events, adds.length);
        const distinct = new Set(adds.map((a) => `${a.ns}|${a.name}|${Math.floor(a.ts / MINUTE)}`));
        t.is(agg.keys, distinct.size);
        const entries = agg.drain();
        t.is(entries.length, distinct.size);
        t.is(agg.keys, 0);
        t.is(agg.events, 0);
        t.true(entries.every((e) => e.minute % MINUTE === 0));
        t.is(
          entries.reduce((n, e) => n + e.events, 0),
          adds.length,
        );
        const raw = adds.map((a) => ({ subject: `count.${a.ns}.${encodeName(a.name)}`, delta: a.delta, ts: a.ts }));
        t.deepEqual([...counts(asEvents(entries))].sort(), [...counts(raw)].sort());
      },
    ),
    { numRuns: 200 },
  );
});

test("aggregate - a sum that would leave the safe integer range becomes a second entry of the same key", (t) => {
  const agg = new Aggregate();
  const max = Number.MAX_SAFE_INTEGER;
  agg.add("web", "big", max, BASE);
  agg.add("web", "big", max, BASE + 1);
  agg.add("web", "big", -3, BASE + 2);
  t.is(agg.keys, 2);
  const entries = agg.drain();
  t.deepEqual(
    entries.map((e) => [e.subject, e.minute, e.delta, e.events]).sort(),
    [
      ["count.web.big", BASE, max, 1],
      ["count.web.big", BASE, max - 3, 2],
    ].sort(),
  );
});

test("aggregate - ts defaults to now, and Date and ISO strings are accepted", (t) => {
  const agg = new Aggregate();
  const before = Date.now();
  agg.add("web", "a", 1, undefined);
  const after = Date.now();
  agg.add("web", "b", 1, new Date(BASE + 1234));
  agg.add("web", "c", 1, "2026-11-30T23:58:59.999Z");
  const [a, b, c] = agg.drain().sort((x, y) => x.subject.localeCompare(y.subject));
  t.true(a!.minute >= before - (before % MINUTE) && a!.minute <= after);
  t.is(b!.minute, BASE);
  t.is(c!.minute, BASE);
});

test("aggregate - bad input throws a coded EventError and holds nothing of it", (t) => {
  const agg = new Aggregate();
  agg.add("web", "ok", 1, BASE);
  for (const [ns, name, delta, ts, code] of [
    ["bad.ns", "x", 1, BASE, "BAD_SUBJECT"],
    ["", "x", 1, BASE, "BAD_SUBJECT"],
    ["get", "x", 1, BASE, "RESERVED_NAMESPACE"],
    ["_probe", "x", 1, BASE, "RESERVED_NAMESPACE"],
    ["web", "", 1, BASE, "BAD_SUBJECT"],
    ["web", "\ud800", 1, BASE, "BAD_SUBJECT"],
    ["web", "x".repeat(256), 1, BASE, "BAD_SUBJECT"],
    ["web", "x", 1.5, BASE, "BAD_DELTA"],
    ["web", "x", Number.NaN, BASE, "BAD_DELTA"],
    ["web", "x", "1", BASE, "BAD_DELTA"],
    ["web", "x", 2 ** 53, BASE, "DELTA_OUT_OF_RANGE"],
    ["web", "x", -Infinity, BASE, "DELTA_OUT_OF_RANGE"],
    ["web", "x", 1, -1, "TS_OUT_OF_RANGE"],
    ["web", "x", 1, 1.5, "BAD_TS"],
    ["web", "x", 1, "yesterday", "BAD_TS"],
    ["web", "x", 1, new Date(Number.NaN), "BAD_TS"],
  ] as const) {
    const err = t.throws(() => agg.add(ns, name, delta as number, ts as number), { instanceOf: EventError });
    t.is(err?.code, code, `${JSON.stringify([ns, name, delta, ts])}`);
  }
  t.is(agg.keys, 1);
  t.is(agg.events, 1);
  t.deepEqual(
    agg.drain().map((e) => e.subject),
    ["count.web.ok"],
  );
});

test("aggregate - drained batch by batch (keys remembered across drains, the cache dropped past its limit), each batch counts exactly its own adds", (t) => {
  fc.assert(
    fc.property(
      fc.array(
        fc.array(
          fc.record({
            ns: fc.constantFrom("web", "app"),
            name: fc.constantFrom("home", "example.com/a", "a b", "x", "y", "z"),
            delta: fc.integer({ min: -5, max: 5 }),
            ts: fc.integer({ min: BASE - 3 * MINUTE, max: BASE + 5 * MINUTE }),
          }),
          { maxLength: 40 },
        ),
        { maxLength: 6 },
      ),
      fc.integer({ min: 1, max: 15 }),
      (batches, keyCacheLimit) => {
        const agg = new Aggregate(keyCacheLimit);
        for (const adds of batches) {
          for (const a of adds) agg.add(a.ns, a.name, a.delta, a.ts);
          t.is(agg.events, adds.length);
          const distinct = new Set(adds.map((a) => `${a.ns}|${a.name}|${Math.floor(a.ts / MINUTE)}`));
          t.is(agg.keys, distinct.size);
          const entries = agg.drain();
          t.is(entries.length, distinct.size);
          t.is(
            entries.reduce((n, e) => n + e.events, 0),
            adds.length,
          );
          const raw = adds.map((a) => ({ subject: `count.${a.ns}.${encodeName(a.name)}`, delta: a.delta, ts: a.ts }));
          t.deepEqual([...counts(asEvents(entries))].sort(), [...counts(raw)].sort());
          t.true(agg.cachedKeys <= keyCacheLimit, "the cache is dropped at a drain past its limit");
        }
      },
    ),
    { numRuns: 200 },
  );
});

test("aggregate - a remembered key starts each batch empty, in whatever minute its first add falls", (t) => {
  const agg = new Aggregate();
  agg.add("web", "a", 5, BASE);
  agg.add("web", "a", 1, BASE + MINUTE);
  t.is(agg.cachedKeys, 1);
  t.deepEqual(
    agg.drain().map((e) => [e.minute, e.delta, e.events]),
    [
      [BASE, 5, 1],
      [BASE + MINUTE, 1, 1],
    ],
  );
  agg.add("web", "a", 2, BASE + 2 * MINUTE);
  agg.add("web", "a", 3, BASE + 2 * MINUTE + 1);
  t.is(agg.keys, 1);
  t.deepEqual(
    agg.drain().map((e) => [e.subject, e.minute, e.delta, e.events]),
    [["count.web.a", BASE + 2 * MINUTE, 5, 2]],
  );
  t.deepEqual(agg.drain(), []);
  t.is(agg.cachedKeys, 1);
});

test("aggregate - past keyCacheLimit a drain forgets every key; bad names are never remembered", (t) => {
  const agg = new Aggregate(2);
  t.throws(() => agg.add("web", "", 1, BASE), { instanceOf: EventError });
  t.is(agg.cachedKeys, 0);
  for (const name of ["a", "b", "c"]) agg.add("web", name, 1, BASE);
  t.is(agg.cachedKeys, 3);
  t.is(agg.drain().length, 3);
  t.is(agg.cachedKeys, 0);
  agg.add("web", "a", 4, BASE);
  t.deepEqual(
    agg.drain().map((e) => [e.subject, e.delta]),
    [["count.web.a", 4]],
  );
  t.is(agg.cachedKeys, 1);
});
