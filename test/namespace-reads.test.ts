import test from "ava";
import { DEFAULT_PERIODS, type ListReply, type TopReply } from "@tally/core";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";
import { NamespaceTruth, publishKnown, requestJson, type KnownEvent } from "./helpers/namespace-truth.js";
import { DAY, RECENT_MONDAY } from "./helpers/time.js";

type ErrorReply = { error: { code: string; message: string; retryable: boolean } };

const NAMES = [
  "home",
  "example.com/a",
  "example.com/b",
  "example-com",
  "checkout-1",
  "checkout-2",
  "checkout.3",
  "a b",
  "a.b",
  "ab",
  "é.x",
  "100%",
];

/** Events over three days with distinct, tied and negative values. */
function events(): KnownEvent[] {
  const out: KnownEvent[] = [];
  NAMES.forEach((name, i) => {
    for (let d = 0; d < 3; d++) {
      const n = (i * 7 + d * 3) % 5;
      for (let k = 0; k <= n; k++)
        out.push({ name, delta: i === 9 ? -2 : 1 + (k % 3), ts: RECENT_MONDAY + d * DAY + k * 60_000 });
    }
  });
  return out;
}

test("namespace reads - top and list are exact on one node, with dots, ties, prefixes and paging", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const truth = new NamespaceTruth("web", DEFAULT_PERIODS);
  await publishKnown(nc, truth, events());
  const minSeq = truth.lastSeq;

  for (const [period, at] of [
    ["all", 0],
    ["day", RECENT_MONDAY + DAY],
    ["week", RECENT_MONDAY],
    ["hour", RECENT_MONDAY + 2 * DAY],
  ] as const) {
    for (const limit of [1, 3, 10, 1000]) {
      const r = await requestJson<TopReply>(nc, `count.top.web.${period}`, { at, limit, minSeq });
      t.deepEqual(r.items, truth.top(period, at, limit), `top ${period} limit ${limit}`);
      t.is(r.partial, undefined);
      t.is(r.ns, "web");
      t.is(r.period, period);
      if (period === "all") t.is(r.bucket, undefined);
      else t.is(typeof r.bucket, "string");
    }
    for (const prefix of ["", "example.com/", "checkout", "a", "é", "zzz"]) {
      for (const limit of [1, 2, 100]) {
        const got: string[] = [];
        let after: string | undefined;
        for (let page = 0; page < 50; page++) {
          const body = { at, limit, prefix, minSeq, ...(after === undefined ? {} : { after }) };
          const r = await requestJson<ListReply>(nc, `count.list.web.${period}`, body);
          t.true(r.names.length <= limit);
          got.push(...r.names);
          if (r.next === undefined) break;
          after = r.next;
        }
        t.deepEqual(got, truth.list(period, at, prefix), `list ${period} prefix "${prefix}" limit ${limit}`);
      }
    }
  }
  // The default top (no body) is today's top 10: nothing was counted today in this namespace's test days.
  const empty = await requestJson<TopReply>(nc, "count.top.nobody.day");
  t.deepEqual(empty.items, []);
  const none = await requestJson<ListReply>(nc, "count.list.nobody.all");
  t.deepEqual(none, { ns: "nobody", period: "all", names: [] });
});

test("namespace reads - bad requests get an error with a code and service headers", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const cases: [string, string, string][] = [
    ["count.top.web.day", '{"limit":0}', "BAD_REQUEST"],
    ["count.top.web.day", '{"limit":1001}', "BAD_REQUEST"],
    ["count.top.web.day", '{"limit":"ten"}', "BAD_REQUEST"],
    ["count.top.web.day", "not json", "BAD_REQUEST"],
    ["count.top.web.day", '{"prefix":"a"}', "BAD_REQUEST"],
    ["count.list.web.day", '{"after":5}', "BAD_REQUEST"],
    ["count.list.web.day", JSON.stringify({ prefix: "x".repeat(300) }), "BAD_REQUEST"],
    ["count.list.web.day", '{"at":"whenever"}', "BAD_REQUEST"],
    ["count.top.web.fortnight", "", "BAD_REQUEST"],
    ["count.top._internal.day", "", "BAD_REQUEST"],
    ["count.top.get.day", "", "BAD_REQUEST"],
    ["count.top.web.minute", "", "PERIOD_NOT_ENABLED"],
    ["count.top.web.hour", JSON.stringify({ at: Date.now() - 200 * DAY }), "BUCKET_EXPIRED"],
    ["count.top.web.day.extra", "", "BAD_REQUEST"],
    ["count.list", "", "BAD_REQUEST"],
  ];
  for (const [subject, body, code] of cases) {
    const reply = await nc.request(subject, body, { timeout: 5000 });
    const r = reply.json<ErrorReply>();
    t.is(r.error?.code, code, `${subject} ${body.slice(0, 40)}`);
    t.true(r.error.message.length > 0);
    t.regex(reply.headers?.get("Nats-Service-Error-Code") ?? "", /^[45]\d\d$/);
  }
});
