import test from "ava";
import { ClientError, tallyClient } from "@tally/client";
import { bucketIndex, bucketIso, DEFAULT_PERIODS } from "@tally/core";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";
import { DAY, RECENT_MONDAY } from "./helpers/time.js";
import { Truth } from "./helpers/truth.js";

// top and list through the client against a real node (the node side of issue 9).
const BASE = RECENT_MONDAY + DAY;

/** Names with dots, shared prefixes, upper case and non-ASCII, so order and paging are tested on them. */
const NAMES = [
  ...Array.from({ length: 12 }, (_, i) => `checkout-${String(i).padStart(2, "0")}`),
  ...Array.from({ length: 8 }, (_, i) => `example.com/p${i}`),
  "home",
  "Home",
  "ünïcode",
  "a b",
  "z.z.z",
];

test("client top/list - exact top-N, every name over pages, prefixes and dotted names", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 16 });
  await inProcessNode(t, server.url);
  const client = tallyClient(nc);
  const b = client.batcher();
  const truth = new Truth();
  NAMES.forEach((name, i) => {
    // Day 0 for every name; day 1 for every other one. Values tie in pairs (i >> 1).
    const delta = (i >> 1) + 1;
    for (const [day, d] of [[0, delta], ...(i % 2 === 0 ? [[1, 2 * delta] as const] : [])] as const) {
      const ts = BASE + day * DAY + i * 1000;
      void b.add("tl", name, d, ts);
      truth.add("tl", name, d, ts, DEFAULT_PERIODS, 0);
    }
  });
  const { seq: minSeq } = await b.close();

  const expectedTop = (period: "all" | "day", at?: number) =>
    NAMES.map((name) => ({
      name,
      value:
        period === "all"
          ? truth.value("tl", name, "all")
          : truth.value("tl", name, "day", bucketIso("day", bucketIndex("day", at!))),
    }))
      .filter((x) => x.value !== 0)
      .sort((x, y) => y.value - x.value || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));

  const top5 = await client.top("tl", "all", { limit: 5, minSeq });
  t.deepEqual(top5.items, expectedTop("all").slice(0, 5));
  t.is(top5.partial, undefined);
  const day1 = await client.top("tl", "day", { at: BASE + DAY, limit: 1000, minSeq });
  t.is(day1.bucket, bucketIso("day", bucketIndex("day", BASE + DAY)));
  t.deepEqual(day1.items, expectedTop("day", BASE + DAY));
  t.deepEqual((await client.top("tl", "all", { minSeq })).items.length, 10, "default limit 10");

  const sorted = [...NAMES].sort();
  const all: string[] = [];
  for await (const name of client.list("tl", "all", { limit: 3, minSeq })) all.push(name);
  t.deepEqual(all, sorted);
  const checkout: string[] = [];
  for await (const name of client.list("tl", "all", { prefix: "checkout-", limit: 5, minSeq })) checkout.push(name);
  t.deepEqual(
    checkout,
    sorted.filter((n) => n.startsWith("checkout-")),
  );
  const dotted: string[] = [];
  for await (const name of client.list("tl", "day", { at: BASE + DAY, prefix: "example.com/", limit: 2, minSeq }))
    dotted.push(name);
  t.deepEqual(
    dotted,
    sorted.filter((n) => n.startsWith("example.com/") && NAMES.indexOf(n) % 2 === 0),
  );

  const first = await client.listPage("tl", "all", { limit: 4, minSeq });
  t.deepEqual(first.names, sorted.slice(0, 4));
  t.is(typeof first.next, "string");
  const second = await client.listPage("tl", "all", { limit: 100, after: first.next, minSeq });
  t.deepEqual(second.names, sorted.slice(4));
  t.is(second.next, undefined, "no next on the last page");
});

test("client top/list - a bad limit is the node's BAD_REQUEST, not retried", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const client = tallyClient(nc);
  for (const limit of [0, 1001, 1.5]) {
    t.is((await t.throwsAsync(client.top("tl", "all", { limit }), { instanceOf: ClientError }))?.code, "BAD_REQUEST");
    t.is(
      (await t.throwsAsync(client.listPage("tl", "all", { limit }), { instanceOf: ClientError }))?.code,
      "BAD_REQUEST",
    );
  }
});
