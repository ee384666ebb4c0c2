import test from "ava";
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { startServer, waitFor, type NatsServer } from "@tally/testing";
import { ClientError, tallyClient } from "@tally/client";

// The client's side of namespace-wide reads against a real nats-server, no Tally node: a
// plain subscription plays the node and answers from names the test holds, so each test
// sets the replies (whole, partial, errors) it needs.
let server: NatsServer;
let nc: NatsConnection;

test.before(async () => {
  server = await startServer();
  nc = await connect({ servers: server.url });
});

test.after.always(async () => {
  await nc?.close();
  await server?.stop();
});

const enc = new TextEncoder();

interface ListBody {
  prefix?: string;
  limit?: number;
  after?: string;
  minSeq?: number;
}

/**
 * Answers `count.list.<ns>.<period>` from `names` as the contract says (sorted, paged by
 * `after`, `next` unless last); `partial(n)` makes the n-th request's reply partial.
 */
function lister(ns: string, names: string[], partial: (n: number) => boolean = () => false) {
  const sorted = [...names].sort();
  const bodies: ListBody[] = [];
  const sub = nc.subscribe(`count.list.${ns}.*`, {
    callback: (_err, msg: Msg) => {
      const body = (msg.data.length ? JSON.parse(new TextDecoder().decode(msg.data)) : {}) as ListBody;
      const n = bodies.push(body);
      const limit = body.limit ?? 100;
      const matching = sorted.filter(
        (x) => x.startsWith(body.prefix ?? "") && (body.after === undefined || x > body.after),
      );
      const page = matching.slice(0, limit);
      const reply: Record<string, unknown> = { ns, period: msg.subject.split(".")[3], names: page };
      if (matching.length > limit) reply.next = page[page.length - 1];
      if (partial(n)) Object.assign(reply, { partial: true, missingShards: [3, 5], names: page.slice(1) });
      msg.respond(enc.encode(JSON.stringify(reply)));
    },
  });
  return { bodies, stop: () => sub.unsubscribe() };
}

const NAMES = [
  "checkout-a",
  "checkout-b.example.com",
  "checkout-c",
  "home",
  "example.com/a",
  "example.com/b",
  "Zed",
  "ünïcode",
  "a b",
];

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const n of it) out.push(n);
  return out;
}

test("client list - every name over all pages, in order, each page asked after the last one's next", async (t) => {
  const l = lister("pg", NAMES);
  t.teardown(l.stop);
  const client = tallyClient(nc);
  t.deepEqual(await collect(client.list("pg", "day", { limit: 2, minSeq: 9, at: "2026-11-21" })), [...NAMES].sort());
  t.is(l.bodies.length, Math.ceil(NAMES.length / 2));
  t.deepEqual(l.bodies[0], { at: "2026-11-21", limit: 2, minSeq: 9 });
  t.deepEqual(l.bodies[1], { at: "2026-11-21", limit: 2, after: [...NAMES].sort()[1], minSeq: 9 });
  t.deepEqual(await collect(client.list("pg", "all", { prefix: "checkout-" })), [
    "checkout-a",
    "checkout-b.example.com",
    "checkout-c",
  ]);
  const page = await client.listPage("pg", "all", { prefix: "example.com/", limit: 1 });
  t.deepEqual(page.names, ["example.com/a"]);
  t.is(page.next, "example.com/a");
  const last = await client.listPage("pg", "all", { prefix: "example.com/", after: page.next });
  t.deepEqual(last.names, ["example.com/b"]);
  t.is(last.next, undefined);
});

test("client list - a partial page is asked again until whole; never yields a short page", async (t) => {
  const l = lister("pp", NAMES, (n) => n === 2 || n === 3); // page 2 partial twice
  t.teardown(l.stop);
  t.deepEqual(await collect(tallyClient(nc).list("pp", "all", { limit: 4 })), [...NAMES].sort());
  t.is(l.bodies.length, 3 + 2);
  t.deepEqual(l.bodies[2], l.bodies[1], "the same page asked again");
});

test("client list - a page still partial at the retry deadline throws PARTIAL with the missing shards", async (t) => {
  const l = lister("pa", NAMES, (n) => n >= 2);
  t.teardown(l.stop);
  const seen: string[] = [];
  const err = await t.throwsAsync(
    async () => {
      for await (const n of tallyClient(nc, { retryDeadlineMs: 300 }).list("pa", "all", { limit: 4 })) seen.push(n);
    },
    { instanceOf: ClientError },
  );
  t.is(err?.code, "PARTIAL");
  t.true(err?.retryable);
  t.deepEqual(err?.missingShards, [3, 5]);
  t.deepEqual(seen, [...NAMES].sort().slice(0, 4), "only the whole first page was yielded");
  t.true(l.bodies.length > 2, "the partial page was asked again");
});

test("client listPage and top - a partial reply is returned as it is, flagged", async (t) => {
  const l = lister("pt", NAMES, () => true);
  t.teardown(l.stop);
  const page = await tallyClient(nc).listPage("pt", "all");
  t.true(page.partial);
  t.deepEqual(page.missingShards, [3, 5]);
  const sub = nc.subscribe("count.top.pt.*", {
    callback: (_err, msg: Msg) => {
      msg.respond(
        enc.encode(
          JSON.stringify({
            ns: "pt",
            period: "all",
            items: [{ name: "a.b", value: 3 }],
            partial: true,
            missingShards: [1],
          }),
        ),
      );
    },
  });
  t.teardown(() => sub.unsubscribe());
  const top = await tallyClient(nc).top("pt", "all", { limit: 3 });
  t.deepEqual(top, { ns: "pt", period: "all", items: [{ name: "a.b", value: 3 }], partial: true, missingShards: [1] });
});

test("client top - sends the query, retries a retryable error, throws a final one with its code", async (t) => {
  const bodies: string[] = [];
  const replies = [
    { error: { code: "NOT_READY", message: "gathering", retryable: true } },
    { ns: "tq", period: "day", bucket: "2026-11-21T00:00:00.000Z", items: [] },
    { error: { code: "BAD_REQUEST", message: "limit must be 1..1000", retryable: false } },
  ];
  const sub = nc.subscribe("count.top.tq.*", {
    callback: (_err, msg: Msg) => {
      bodies.push(new TextDecoder().decode(msg.data));
      msg.respond(enc.encode(JSON.stringify(replies[bodies.length - 1] ?? replies[2])));
    },
  });
  t.teardown(() => sub.unsubscribe());
  const client = tallyClient(nc);
  const top = await client.top("tq", "day", { at: new Date(Date.UTC(2026, 10, 21, 5)), limit: 20, minSeq: 4 });
  t.deepEqual(top.items, []);
  t.deepEqual(
    bodies,
    [1, 2].map(() => JSON.stringify({ at: Date.UTC(2026, 10, 21, 5), limit: 20, minSeq: 4 })),
  );
  const err = await t.throwsAsync(client.top("tq", "day", { limit: 5000 }), { instanceOf: ClientError });
  t.is(err?.code, "BAD_REQUEST");
  t.is(await client.top("tq", "all").catch((e: ClientError) => e.code), "BAD_REQUEST");
  t.is(bodies[bodies.length - 1], "", "no query: an empty body");
});

test("client namespace reads - a bad ns or period throws at once with a code", (t) => {
  const client = tallyClient(nc);
  const calls = [
    (ns: string, p: string) => client.top(ns, p as "all"),
    (ns: string, p: string) => client.listPage(ns, p as "all"),
    (ns: string, p: string) => client.list(ns, p as "all"),
  ];
  for (const call of calls) {
    for (const [ns, period, code] of [
      ["a.b", "all", "BAD_SUBJECT"],
      ["", "all", "BAD_SUBJECT"],
      ["list", "all", "RESERVED_NAMESPACE"],
      ["_x", "all", "RESERVED_NAMESPACE"],
      ["web", "fortnight", "BAD_REQUEST"],
      ["web", "day.x", "BAD_REQUEST"],
    ] as const) {
      const err = t.throws(() => call(ns, period));
      t.is((err as { code?: string }).code, code, `${ns} ${period}`);
    }
  }
});

test("client namespace reads - a closed connection fails top, listPage and list with CONNECTION_CLOSED", async (t) => {
  const l = lister("cc", NAMES);
  t.teardown(l.stop);
  const own = await connect({ servers: server.url });
  t.teardown(() => own.close());
  const client = tallyClient(own, { retryDeadlineMs: 120_000 });
  const it = client.list("cc", "all", { limit: 2 });
  t.truthy((await it.next()).value);
  await own.close();
  const started = Date.now();
  for (const p of [
    client.top("cc", "all"),
    client.listPage("cc", "all"),
    collect(client.list("cc", "all")),
    it.next(),
  ]) {
    t.is((await t.throwsAsync(p, { instanceOf: ClientError }))?.code, "CONNECTION_CLOSED");
  }
  t.true(Date.now() - started < 1000);
});

test("client list - a page stuck partial ends at once when the connection closes", async (t) => {
  const l = lister("cs", NAMES, () => true);
  t.teardown(l.stop);
  const own = await connect({ servers: server.url });
  t.teardown(() => own.close());
  const listing = collect(tallyClient(own, { retryDeadlineMs: 120_000 }).list("cs", "all"));
  listing.catch(() => undefined);
  await waitFor(() => l.bodies.length >= 3, { message: "the partial page asked again" });
  const closedAt = Date.now();
  await own.close();
  t.is((await t.throwsAsync(listing, { instanceOf: ClientError }))?.code, "CONNECTION_CLOSED");
  t.true(Date.now() - closedAt < 3000);
});
