import test from "ava";
import { headers } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { pack } from "msgpackr";
import { shardOf } from "@tally/core";
import { tallyClient } from "@tally/client";
import { listDeadLetters } from "@tally/node";
import { waitFor } from "@tally/testing";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";

const enc = new TextEncoder();
const u8 = (s: string) => enc.encode(s);

/** Every malformed body we could think of, with the code it must be dead-lettered with. */
const BAD: [string, Uint8Array, string][] = [
  ["word", u8("hello"), "BAD_BODY"],
  ["float", u8("1.5"), "BAD_DELTA"],
  ["exponent", u8("1e3"), "BAD_DELTA"],
  ["hex", u8("0x10"), "BAD_DELTA"],
  ["double sign", u8("--1"), "BAD_BODY"],
  ["huge integer", u8("123456789012345678901234567890"), "DELTA_OUT_OF_RANGE"],
  ["just whitespace", u8("   "), "BAD_BODY"],
  ["NUL byte", new Uint8Array([0]), "BAD_BODY"],
  ["invalid UTF-8", new Uint8Array([0xff, 0xfe, 0x31]), "BAD_BODY"],
  ["broken JSON", u8('{"delta": 5'), "BAD_JSON"],
  ["JSON array", u8("[1,2]"), "BAD_BODY"],
  ["JSON string", u8('"5"'), "BAD_BODY"],
  ["JSON null", u8("null"), "BAD_BODY"],
  ["delta as string", u8('{"delta":"5"}'), "BAD_DELTA"],
  ["delta fraction", u8('{"delta":1.5}'), "BAD_DELTA"],
  ["delta 1e400", u8('{"delta":1e400}'), "DELTA_OUT_OF_RANGE"],
  ["delta unsafe", u8('{"delta":9007199254740993}'), "DELTA_OUT_OF_RANGE"],
  ["delta bool", u8('{"delta":true}'), "BAD_DELTA"],
  ["delta object", u8('{"delta":{"n":1}}'), "BAD_DELTA"],
  ["ts words", u8('{"delta":1,"ts":"yesterday"}'), "BAD_TS"],
  ["ts negative", u8('{"delta":1,"ts":-1}'), "TS_OUT_OF_RANGE"],
  ["ts far future", u8('{"delta":1,"ts":1e20}'), "TS_OUT_OF_RANGE"],
  ["ts object", u8('{"ts":{}}'), "BAD_TS"],
  ["ts fraction", u8('{"ts":1.5}'), "BAD_TS"],
  ["msgpack truncated", pack({ delta: 5, ts: 1 }).subarray(0, 5), "BAD_MSGPACK"],
  ["msgpack trailing bytes", new Uint8Array([...pack({ delta: 5 }), 0xc1, 0x00]), "BAD_MSGPACK"],
  ["msgpack array", pack([1, 2]), "BAD_BODY"],
  ["msgpack huge bigint", pack({ delta: 2n ** 62n }), "DELTA_OUT_OF_RANGE"],
  ["msgpack delta string", pack({ delta: "x" }), "BAD_DELTA"],
  ["oversized", u8("1".padEnd(5000, " ")), "BODY_TOO_LARGE"],
];

test("bad input - malformed bodies are dead-lettered with their reason; valid counts stay exact", async (t) => {
  const { server, nc, shards } = await tallyServer(t);
  const node = await inProcessNode(t, server.url, { httpPort: 0 });
  const js = jetstream(nc);
  const client = tallyClient(nc);
  let expected = 0;
  const badSeqs = new Map<number, [string, string]>();
  for (const [label, body, code] of BAD) {
    const good = await js.publish("count.web.home", u8("2"));
    expected += 2;
    const bad = await js.publish("count.web.home", body);
    badSeqs.set(bad.seq, [label, code]);
    t.true(good.seq < bad.seq);
  }
  // A subject that bypasses the mapping with the wrong shard, and a reserved namespace.
  const wrong = (shardOf("web", "home", shards) + 1) % shards;
  badSeqs.set((await js.publish(`tally.ev.${wrong}.web.home`, u8("1"))).seq, ["wrong shard", "WRONG_SHARD"]);
  badSeqs.set((await js.publish("count.top.web", u8("1"))).seq, ["reserved namespace", "RESERVED_NAMESPACE"]);
  badSeqs.set((await js.publish("count._x.web", u8("1"))).seq, ["reserved _ namespace", "RESERVED_NAMESPACE"]);
  // Headers are no way around validation either.
  const h = headers();
  h.set("Tally-Delta", "100");
  badSeqs.set((await js.publish("count.web.home", u8("nope"), { headers: h })).seq, ["with headers", "BAD_BODY"]);
  const after = await js.publish("count.web.home", u8("-1"));
  expected -= 1;

  t.is((await client.get("web", "home", { minSeq: after.seq })).value, expected);
  t.is(node.status, "running");
  const dead = await waitFor(
    async () => {
      const list = await listDeadLetters(nc, { limit: 1000 });
      return list.length >= badSeqs.size ? list : undefined;
    },
    { timeoutMs: 30_000, message: `all ${badSeqs.size} dead letters` },
  );
  t.is(dead.length, badSeqs.size, "one dead letter per bad event, no duplicates");
  for (const d of dead) {
    const want = badSeqs.get(d.seq);
    t.truthy(want, `unexpected dead letter for seq ${d.seq}`);
    t.is(d.code, want![1], `${want![0]}: ${d.reason}`);
    t.true(d.reason.length > 0);
    t.regex(d.subject, /^tally\.ev\.\d+\./);
  }
  // Each reason is counted in the metric, per code.
  const metrics = await (await fetch(`http://127.0.0.1:${node.httpPort}/metrics`)).text();
  const byCode = new Map<string, number>();
  for (const [, code] of badSeqs.values()) byCode.set(code, (byCode.get(code) ?? 0) + 1);
  for (const [code, n] of byCode) t.true(metrics.includes(`tally_dead_letters_total{code="${code}"} ${n}`), code);
  const health = await fetch(`http://127.0.0.1:${node.httpPort}/healthz`);
  t.is(health.status, 200);
  // The node keeps counting after all that.
  const more = await client.inc("web", "home", { delta: 10 });
  t.is((await client.get("web", "home", { minSeq: more.seq })).value, expected + 10);
});

test("bad input - a publish on a subject no stream captures gets no responders, not a false ack", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const js = jetstream(nc);
  for (const subject of ["count.onlyone", "count.a.b.c"]) {
    await t.throwsAsync(js.publish(subject, u8("1")), undefined, subject);
  }
});

test("bad input - an invalid body near max_payload is dead-lettered (truncated) and never stalls its shard", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const js = jetstream(nc);
  const huge = new Uint8Array(900 * 1024).fill(0x78);
  const bad = await js.publish("count.web.home", huge);
  const good = await js.publish("count.web.home", u8("3"));
  t.is((await tallyClient(nc).get("web", "home", { minSeq: good.seq })).value, 3);
  const [d] = await waitFor(
    async () => {
      const list = await listDeadLetters(nc);
      return list.length > 0 ? list : undefined;
    },
    { timeoutMs: 30_000, message: "the oversized event in the dead-letter stream" },
  );
  t.is(d!.seq, bad.seq);
  t.is(d!.code, "BODY_TOO_LARGE");
  t.is(d!.reason, `event body is ${huge.length} bytes, over the limit of 4096; a valid body needs under 100`);
  t.is(d!.body.length, 4096);
});

test("bad input - stray internal subjects are refused, wrong-shard reads get an error", async (t) => {
  const { server, nc, shards } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const js = jetstream(nc);
  for (const subject of [`tally.ev.${shards}.web.home`, "tally.ev.x", "tally.ev.04.web.home", "tally.ev.1.a.b.c"]) {
    await t.throwsAsync(js.publish(subject, u8("1")), undefined, subject);
  }
  const a = await tallyClient(nc).inc("web", "home", { delta: 7 });
  t.is((await tallyClient(nc).get("web", "home", { minSeq: a.seq })).value, 7);
  const wrong = (shardOf("web", "home", shards) + 1) % shards;
  const r = (await nc.request(`tally.rd.${wrong}.web.home`, "", { timeout: 2000 })).json<{ error: { code: string } }>();
  t.is(r.error.code, "BAD_REQUEST");
});

test("bad input - the client refuses a bad event time before publishing", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const client = tallyClient(nc);
  for (const [ts, code] of [
    [new Date(NaN), "BAD_TS"],
    ["yesterday", "BAD_TS"],
    [-5, "TS_OUT_OF_RANGE"],
  ] as const) {
    const err = await t.throwsAsync(client.inc("web", "home", { ts }));
    t.is((err as { code?: string }).code, code, String(ts));
  }
  t.is((await client.get("web", "home")).value, 0);
});
