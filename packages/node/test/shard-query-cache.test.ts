import test from "ava";
import { ALL_KEY, ShardCounts, type ShardQuery } from "@tally/core";
import { ShardQueryCache } from "../src/shard/shard-query.js";

const T0 = Date.UTC(2026, 10, 23);
const top = (limit: number, ns = "web"): ShardQuery => ({ kind: "top", ns, period: "all", key: ALL_KEY, limit });

test("a cached answer is reused while the counts are unchanged, and never after a change", (t) => {
  const counts = new ShardCounts(["all"]);
  const cache = new ShardQueryCache();
  counts.apply("web", "a", 3, T0);
  const first = cache.answer(top(10), counts);
  t.deepEqual(first, { items: [{ name: "a", value: 3 }] });
  t.is(cache.answer(top(10), counts), first, "the same object: no scan");
  counts.apply("web", "b", 5, T0);
  t.deepEqual(cache.answer(top(10), counts), {
    items: [
      { name: "b", value: 5 },
      { name: "a", value: 3 },
    ],
  });
  t.deepEqual(cache.answer(top(1), counts), { items: [{ name: "b", value: 5 }] }, "another limit is another answer");
  const list: ShardQuery = { kind: "list", ns: "web", period: "all", key: ALL_KEY, limit: 1, after: "a" };
  t.deepEqual(cache.answer(list, counts), { names: ["b"], more: false });
});

test("the cache keeps a bounded number of answers", (t) => {
  const counts = new ShardCounts(["all"]);
  const cache = new ShardQueryCache();
  counts.apply("web", "a", 1, T0);
  const first = cache.answer(top(1), counts);
  for (let limit = 2; limit < 100; limit++) cache.answer(top(limit), counts);
  const again = cache.answer(top(1), counts);
  t.deepEqual(again, first);
  t.not(again, first, "the oldest answer was dropped and scanned again");
});

test("an answer stays cached while other namespaces are counted, and not after any change to its own", (t) => {
  const counts = new ShardCounts(["all", "day"]);
  const cache = new ShardQueryCache();
  counts.apply("web", "a", 3, T0);
  const first = cache.answer(top(10), counts);
  counts.apply("api", "x", 7, T0);
  counts.load("api", "y", ALL_KEY, 2);
  t.is(cache.answer(top(10), counts), first, "another namespace's apply and load leave it valid");
  const changes: [string, () => void][] = [
    ["apply", () => counts.apply("web", "b", 1, T0)],
    ["load", () => counts.load("web", "c", ALL_KEY, 9)],
    ["unload", () => counts.unload("web", "a", counts.namespace("web")!.get("a")!.d[3]!)],
    ["clear", () => counts.clear()],
  ];
  let previous = cache.answer(top(10), counts);
  for (const [what, change] of changes) {
    change();
    const now = cache.answer(top(10), counts);
    t.not(now, previous, `${what} in the namespace: scanned again`);
    t.deepEqual(now, { items: topOf(counts) }, what);
    previous = now;
  }
});

/** The brute-force top of namespace web, all-time. */
function topOf(counts: ShardCounts): { name: string; value: number }[] {
  return [...(counts.namespace("web") ?? new Map())]
    .map(([name, c]) => ({ name, value: c.d[1]! }))
    .sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1));
}
