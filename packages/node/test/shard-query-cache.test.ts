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
