import test from "ava";
import { headers } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { pack } from "msgpackr";
import { DEFAULT_PERIODS, bucketIndex, bucketIso } from "@tally/core";
import { tallyClient } from "@tally/client";
import { EVENTS_STREAM } from "@tally/node";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";
import { Truth } from "./helpers/truth.js";

import { DAY, RECENT_MONDAY } from "./helpers/time.js";

test("counting - every acked event counts exactly once, in its event-time buckets", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url, { snapshotEvents: 500 });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const truth = new Truth();
  const base = RECENT_MONDAY; // a Monday: days cross a week boundary below
  let seed = 42;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const enc = new TextEncoder();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < 3000; i++) {
    const ns = `ns${rnd(3)}`;
    const name = `c${rnd(25)}`;
    const delta = rnd(10) === 0 ? -rnd(7) : rnd(9) + 1;
    const ts = base + rnd(9) * DAY + rnd(DAY);
    const form = i % 5;
    let body: Uint8Array;
    let known: number | undefined = ts;
    if (form === 0) body = enc.encode(JSON.stringify({ delta, ts }));
    else if (form === 1) body = pack({ delta, ts: new Date(ts).toISOString() });
    else if (form === 2) body = enc.encode(JSON.stringify({ delta, ts: new Date(ts).toISOString() }));
    else if (form === 3) body = pack({ delta, ts });
    else {
      // no ts: the bucket comes from the stored JetStream timestamp
      body = enc.encode(delta === 1 && rnd(2) === 0 ? "" : String(delta));
      known = undefined;
    }
    pending.push(
      js.publish(`count.${ns}.${name}`, body).then(async (ack) => {
        let at = known;
        if (at === undefined) {
          const stored = await jsm.streams.getMessage(EVENTS_STREAM, { seq: ack.seq });
          at = stored!.timestamp ? Date.parse(stored!.timestamp) : NaN;
        }
        truth.add(ns, name, delta, at, DEFAULT_PERIODS, ack.seq);
      }),
    );
    if (pending.length >= 200) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);

  const client = tallyClient(nc);
  let checked = 0;
  for (const counter of truth.counters) {
    const [ns, name] = counter.split(".") as [string, string];
    const all = await client.get(ns, name, { minSeq: truth.lastSeq });
    t.is(all.value, truth.value(ns, name, "all"), `${counter} all-time`);
    checked++;
  }
  for (const b of truth.buckets()) {
    const r = await client.get(b.ns, b.name, { period: b.period, at: b.bucket, minSeq: truth.lastSeq });
    t.is(r.bucket, b.bucket);
    t.is(r.value, b.value, `${b.ns}.${b.name} ${b.period} ${b.bucket}`);
    checked++;
  }
  // A series over the whole range agrees bucket by bucket, zero-filled.
  const s = await client.series("ns0", "c1", {
    period: "day",
    from: base - DAY,
    to: base + 10 * DAY,
    minSeq: truth.lastSeq,
  });
  t.is(s.points.length, 12);
  for (const p of s.points) t.is(p.value, truth.value("ns0", "c1", "day", p.bucket), `series ${p.bucket}`);
  t.is(s.points[0]!.value, 0);
  t.true(checked > 300);
});

test("counting - a counter never seen reads 0 for every period", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const client = tallyClient(nc);
  for (const period of DEFAULT_PERIODS) {
    const r = await client.get("web", "never-seen", { period });
    t.is(r.value, 0, period);
  }
  const now = Date.now();
  const r = await client.get("web", "never-seen", { period: "week", at: now });
  t.is(r.bucket, bucketIso("week", bucketIndex("week", now)));
  t.is(new Date(r.bucket!).getUTCDay(), 1, "ISO weeks start on Monday");
});

test("counting - Nats-Msg-Id duplicates count once", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const client = tallyClient(nc);
  const js = jetstream(nc);
  const acks = [];
  for (let i = 0; i < 3; i++) acks.push(await client.inc("shop", "orders", { delta: 7, msgId: "order-1" }));
  const h = headers();
  h.set("Nats-Msg-Id", "order-2");
  for (let i = 0; i < 3; i++) acks.push(await js.publish("count.shop.orders", "2", { headers: h }));
  t.deepEqual(
    acks.map((a) => a.duplicate),
    [false, true, true, false, true, true],
  );
  const last = Math.max(...acks.map((a) => a.seq));
  t.is((await client.get("shop", "orders", { minSeq: last })).value, 9);
});

test("counting - names holding dots are percent-encoded by the client and read back", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const client = tallyClient(nc);
  const a = await client.inc("web", "example.com/a b", { delta: 3 });
  const r = await client.get("web", "example.com/a b", { minSeq: a.seq });
  t.is(r.value, 3);
  t.is(r.name, "example.com/a b");
  const raw = await nc.request("count.get.web.example%2Ecom/a%20b", "");
  t.is(raw.json<{ value: number }>().value, 3);
});

test("counting - a node with an empty data dir rebuilds every count from the stream", async (t) => {
  const { server, nc } = await tallyServer(t);
  const first = await inProcessNode(t, server.url);
  const client = tallyClient(nc);
  const truth = new Truth();
  const base = RECENT_MONDAY;
  for (let i = 0; i < 400; i++) {
    const ts = base + (i % 4) * DAY;
    const a = await client.inc(`n${i % 2}`, `c${i % 9}`, { delta: (i % 3) - 1 || 3, ts });
    truth.add(`n${i % 2}`, `c${i % 9}`, (i % 3) - 1 || 3, ts, DEFAULT_PERIODS, a.seq);
  }
  await first.close();
  await inProcessNode(t, server.url); // fresh temp dir
  for (const b of truth.buckets()) {
    const r = await client.get(b.ns, b.name, { period: b.period, at: b.bucket });
    t.is(r.value, b.value, `${b.ns}.${b.name} ${b.period} ${b.bucket}`);
  }
  for (const c of truth.counters) {
    const [ns, name] = c.split(".") as [string, string];
    // No minSeq: a restarted node must not answer from a partial replay.
    t.is((await client.get(ns, name)).value, truth.value(ns, name, "all"));
  }
});
