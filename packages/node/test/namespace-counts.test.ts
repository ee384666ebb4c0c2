import test from "ava";
import fc from "fast-check";
import {
  INVALID_NAMESPACE,
  NamespaceCounts,
  OTHER_NAMESPACES,
  deadLetterNamespace,
  topByCount,
} from "../src/http/namespace-counts.js";

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

test("NamespaceCounts - the top K namespaces get their own label, the rest is summed under _other", (t) => {
  const c = new NamespaceCounts({ top: 3 });
  // ns0 … ns7 with 80, 70, …, 10 events.
  for (let i = 0; i < 8; i++) for (let n = 0; n < (8 - i) * 10; n++) c.add(`ns${i}`);
  const out = c.scrape();
  t.deepEqual(
    [...out],
    [
      ["ns0", 80],
      ["ns1", 70],
      ["ns2", 60],
      [OTHER_NAMESPACES, 50 + 40 + 30 + 20 + 10],
    ],
  );
  t.is(c.total("ns7"), 10);
});

test("NamespaceCounts - ties are broken by name; an empty tally exports _other at 0", (t) => {
  const c = new NamespaceCounts({ top: 2 });
  t.deepEqual([...c.scrape()], [[OTHER_NAMESPACES, 0]]);
  for (const ns of ["c", "b", "a"]) c.add(ns, 5);
  t.deepEqual(
    [...c.scrape()],
    [
      ["a", 5],
      ["b", 5],
      [OTHER_NAMESPACES, 5],
    ],
  );
});

test("NamespaceCounts - a namespace entering the top K starts at 0, _other keeps what it counted: both only grow", (t) => {
  const c = new NamespaceCounts({ top: 1 });
  c.add("a", 10);
  c.add("b", 4);
  t.deepEqual(
    [...c.scrape()],
    [
      ["a", 10],
      [OTHER_NAMESPACES, 4],
    ],
  );
  c.add("b", 20); // b (24) overtakes a (10)
  t.deepEqual(
    [...c.scrape()],
    [
      ["b", 20],
      [OTHER_NAMESPACES, 4],
    ],
  );
  c.add("a", 100); // a (110) is back on top: its series carries on from 10
  t.deepEqual(
    [...c.scrape()],
    [
      ["a", 110],
      [OTHER_NAMESPACES, 4],
    ],
  );
});

test("NamespaceCounts - past the tracking cap new namespaces count under _other only", (t) => {
  const c = new NamespaceCounts({ top: 5, maxTracked: 2 });
  c.add("a", 1);
  c.add("b", 2);
  c.add("c", 3);
  c.add("d", 4);
  c.add("a", 1);
  t.is(c.total("c"), undefined);
  t.deepEqual(
    [...c.scrape()],
    [
      ["a", 2],
      ["b", 2],
      [OTHER_NAMESPACES, 7],
    ],
  );
});

test("NamespaceCounts - property: every series is monotonic, at most K+1 are exported, and they sum to the total", (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 50 })), { maxLength: 20 }), {
        maxLength: 10,
      }),
      (top, maxTracked, rounds) => {
        const c = new NamespaceCounts({ top, maxTracked });
        const last = new Map<string, number>();
        let total = 0;
        for (const round of rounds) {
          for (const [ns, n] of round) {
            c.add(`n${ns}`, n);
            total += n;
          }
          const out = c.scrape();
          if (out.size > top + 1) return false;
          if (sum(out) > total) return false;
          for (const [label, v] of out) {
            if (v < (last.get(label) ?? 0)) return false;
            last.set(label, v);
          }
        }
        // Summed over every label ever exported (a label that left the top K keeps its last value).
        return [...last.values()].reduce((a, b) => a + b, 0) === total;
      },
    ),
  );
  t.pass();
});

test("topByCount - highest first, ties by name, zeros left out", (t) => {
  const m = new Map(Object.entries({ b: { n: 2 }, a: { n: 2 }, c: { n: 5 }, z: { n: 0 } }));
  t.deepEqual(topByCount(m, 10), ["c", "a", "b"]);
  t.deepEqual(topByCount(m, 1), ["c"]);
  t.deepEqual(topByCount(m, 0), []);
});

test("deadLetterNamespace - the subject's namespace, or _invalid when it names none that is valid", (t) => {
  t.is(deadLetterNamespace("tally.ev.3.web.home"), "web");
  t.is(deadLetterNamespace("tally.ev.3.top.home"), "top");
  t.is(deadLetterNamespace("tally.ev.3._other.home"), INVALID_NAMESPACE);
  t.is(deadLetterNamespace("tally.ev.3.web"), INVALID_NAMESPACE);
  t.is(deadLetterNamespace("tally.ev.3.w\uFFFDb.home"), INVALID_NAMESPACE);
});
