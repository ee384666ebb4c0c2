import test from "ava";
import fc from "fast-check";
import {
  ALL_KEY,
  ShardCounts,
  bucketIndex,
  bucketKey,
  compareNames,
  compareTopItems,
  decodeName,
  encodeName,
  listOfShard,
  listSubject,
  mergeList,
  mergeTop,
  parseListRequest,
  parseNamespaceReadSubject,
  parseShardQuery,
  parseTopRequest,
  shardOf,
  topOfShard,
  topSubject,
  type TopItem,
} from "@tally/core";

const enc = new TextEncoder();
const body = (v: unknown) => enc.encode(typeof v === "string" ? v : JSON.stringify(v));
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 23);

test("subjects: top and list are 4 tokens; reserved and bad namespaces are refused", (t) => {
  t.is(topSubject("web", "day"), "count.top.web.day");
  t.is(listSubject("web", "all"), "count.list.web.all");
  t.throws(() => topSubject("get", "day"), { message: /reserved/ });
  t.throws(() => listSubject("a.b", "day"), { message: /"\."/ });
  t.deepEqual(parseNamespaceReadSubject("count.top.web.day"), { kind: "top", ns: "web", period: "day" });
  t.deepEqual(parseNamespaceReadSubject("count.list.web.all"), { kind: "list", ns: "web", period: "all" });
  for (const s of ["count.top.web.fortnight", "count.top._x.day", "count.get.web.day", "count.top.web"]) {
    t.throws(() => parseNamespaceReadSubject(s), { instanceOf: Error, message: /./ }, s);
  }
});

test("top request: defaults, limits, unknown keys", (t) => {
  t.deepEqual(parseTopRequest(body(""), 5), { kind: "top", at: 5, limit: 10 });
  t.deepEqual(parseTopRequest(body({ at: 7, limit: 1000, minSeq: 3 }), 5), {
    kind: "top",
    at: 7,
    limit: 1000,
    minSeq: 3,
  });
  for (const bad of [
    { limit: 0 },
    { limit: 1001 },
    { limit: 2.5 },
    { limit: "5" },
    { prefix: "a" },
    { at: "never" },
    [1],
  ]) {
    const err = t.throws(() => parseTopRequest(body(bad), 0));
    t.is((err as { code?: string }).code, "BAD_REQUEST", JSON.stringify(bad));
  }
});

test("list request: prefix, after, limit", (t) => {
  t.deepEqual(parseListRequest(body({ prefix: "a.", after: "a.b", limit: 2 }), 5), {
    kind: "list",
    at: 5,
    limit: 2,
    prefix: "a.",
    after: "a.b",
  });
  t.is(parseListRequest(body(""), 5).limit, 100);
  for (const bad of [{ prefix: 3 }, { after: null }, { prefix: "x".repeat(256) }, { limit: -1 }]) {
    const err = t.throws(() => parseListRequest(body(bad), 0));
    t.is((err as { code?: string }).code, "BAD_REQUEST", JSON.stringify(bad));
  }
});

test("shard query: round trip and malformed bodies", (t) => {
  const q = { kind: "list", ns: "web", period: "day", key: 123, limit: 5, prefix: "a", after: "b", minSeq: 9 };
  t.deepEqual(parseShardQuery(body(q)), q);
  for (const bad of [{ ...q, kind: "x" }, { ...q, limit: 0 }, { ...q, key: "1" }, "nope"]) {
    t.throws(() => parseShardQuery(body(bad)), { message: /shard query/ });
  }
});

// Names with dots, percent signs, non-ASCII and shared prefixes, so decoded order differs from token order.
const nameArb = fc.constantFrom(
  "a",
  "a.b",
  "a-b",
  "a/b",
  "a%",
  "b",
  "é",
  "example.com",
  "example-com",
  "x y",
  "Z",
  "aa",
  "a.",
  "ab.c",
);
const eventArb = fc.record({
  name: fc.oneof(nameArb, fc.string({ minLength: 1, maxLength: 4 })),
  delta: fc.integer({ min: -3, max: 9 }),
  day: fc.integer({ min: 0, max: 3 }),
});

/** Applies events across `shards` shards, as a cluster would, and keeps the ground truth. */
function build(events: { name: string; delta: number; day: number }[], shards: number) {
  const models = Array.from({ length: shards }, () => new ShardCounts(["all", "day"]));
  const truth = new Map<string, Map<number, number>>(); // name → key → value
  for (const e of events) {
    const token = encodeName(e.name);
    const ts = T0 + e.day * DAY;
    models[shardOf("web", token, shards)]!.apply("web", token, e.delta, ts);
    const key = bucketKey("day", bucketIndex("day", ts));
    const m = truth.get(e.name) ?? new Map<number, number>();
    m.set(ALL_KEY, (m.get(ALL_KEY) ?? 0) + e.delta);
    m.set(key, (m.get(key) ?? 0) + e.delta);
    truth.set(e.name, m);
  }
  return { models, truth };
}

const keyArb = fc.constantFrom(
  ALL_KEY,
  ...[0, 1, 2, 3, 4].map((d) => bucketKey("day", bucketIndex("day", T0 + d * DAY))),
);

test("top of every shard merged equals the top of the whole namespace (property)", (t) => {
  fc.assert(
    fc.property(
      fc.array(eventArb, { maxLength: 120 }),
      fc.integer({ min: 1, max: 4 }),
      keyArb,
      fc.integer({ min: 1, max: 12 }),
      (events, shards, key, limit) => {
        const { models, truth } = build(events, shards);
        const got = mergeTop(
          models.map((m) => topOfShard(m.namespace("web"), key, limit)),
          limit,
        );
        const want: TopItem[] = [...truth]
          .filter(([, m]) => m.has(key))
          .map(([name, m]) => ({ name, value: m.get(key)! }))
          .sort(compareTopItems)
          .slice(0, limit);
        t.deepEqual(got, want);
      },
    ),
  );
});

test("list pages merged across shards walk every name once, in order (property)", (t) => {
  fc.assert(
    fc.property(
      fc.array(eventArb, { maxLength: 120 }),
      fc.integer({ min: 1, max: 4 }),
      keyArb,
      fc.integer({ min: 1, max: 5 }),
      fc.constantFrom("", "a", "a.", "ex", "é", "q"),
      (events, shards, key, limit, prefix) => {
        const { models, truth } = build(events, shards);
        const want = [...truth]
          .filter(([name, m]) => m.has(key) && name.startsWith(prefix))
          .map(([name]) => name)
          .sort(compareNames);
        const got: string[] = [];
        let after = "";
        for (let page = 0; page < 200; page++) {
          const r = mergeList(
            models.map((m) => listOfShard(m.namespace("web"), key, prefix, after, limit)),
            limit,
          );
          got.push(...r.names);
          t.true(r.names.length <= limit);
          if (r.next === undefined) break;
          t.true(r.next === r.names[r.names.length - 1], "next is the last name of the page");
          after = r.next;
        }
        t.deepEqual(got, want);
      },
    ),
  );
});

test("names come back decoded; a namespace never seen is empty", (t) => {
  const m = new ShardCounts(["all"]);
  m.apply("web", encodeName("example.com/a b"), 3, T0);
  m.apply("api", "x", 9, T0);
  t.deepEqual(topOfShard(m.namespace("web"), ALL_KEY, 10), [{ name: "example.com/a b", value: 3 }]);
  t.deepEqual(listOfShard(m.namespace("nope"), ALL_KEY, "", "", 10), { names: [], more: false });
  t.is(decodeName(encodeName("a.b")), "a.b");
  m.clear();
  t.is(m.namespace("web"), undefined);
});

test("version changes with every change to the counts, and only then", (t) => {
  const m = new ShardCounts(["all", "day"], { day: DAY });
  const seen = new Set<number>([m.version]);
  const changed = (what: string) => {
    t.false(seen.has(m.version), `${what} changes the version`);
    seen.add(m.version);
  };
  m.apply("web", "a", 1, T0);
  changed("apply");
  m.load("web", "b", ALL_KEY, 5);
  changed("load");
  m.unload("web", "a", bucketKey("day", bucketIndex("day", T0)));
  changed("unload");
  m.apply("web", "a", 1, T0);
  changed("apply again");
  const before = m.version;
  t.deepEqual(topOfShard(m.namespace("web"), ALL_KEY, 5), [
    { name: "b", value: 5 },
    { name: "a", value: 2 },
  ]);
  m.setNow(T0);
  t.is(m.version, before, "reading and moving the clock are not changes");
  m.setNow(T0 + 10 * DAY);
  t.true(m.sweep(100).removed > 0);
  changed("sweep");
  m.clear();
  changed("clear");
});
