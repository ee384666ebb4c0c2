import test from "ava";
import { tallyClient, ClientError } from "@tally/client";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";

const BAD_REQUESTS: [string, string, string][] = [
  ["not JSON", "hello", "BAD_REQUEST"],
  ["JSON array", "[1]", "BAD_REQUEST"],
  ["JSON number", "5", "BAD_REQUEST"],
  ["unknown period", '{"period":"fortnight"}', "BAD_REQUEST"],
  ["unknown key", '{"peroid":"day"}', "BAD_REQUEST"],
  ["bad at", '{"period":"day","at":"tomorrow-ish"}', "BAD_REQUEST"],
  ["from without to", '{"period":"day","from":0}', "BAD_REQUEST"],
  ["from after to", '{"period":"day","from":"2026-11-21","to":"2026-11-01"}', "BAD_REQUEST"],
  ["at with series", '{"period":"day","from":0,"to":1,"at":0}', "BAD_REQUEST"],
  ["series of all", '{"period":"all","from":0,"to":1}', "BAD_REQUEST"],
  ["negative minSeq", '{"minSeq":-1}', "BAD_REQUEST"],
  ["fractional minSeq", '{"minSeq":1.5}', "BAD_REQUEST"],
  ["too many points", '{"period":"hour","from":"2020-01-01","to":"2026-01-01"}', "TOO_MANY_POINTS"],
  ["period not enabled", '{"period":"minute"}', "PERIOD_NOT_ENABLED"],
];

test("reads - malformed requests get an error reply with a code and service headers", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  for (const [label, body, code] of BAD_REQUESTS) {
    // 10 s: a node starting on a busy machine may take seconds to answer its first requests.
    const reply = await nc.request("count.get.web.home", body, { timeout: 10_000 });
    const r = reply.json<{ error: { code: string; message: string } }>();
    t.is(r.error.code, code, label);
    t.true(r.error.message.length > 0, label);
    t.regex(reply.headers?.get("Nats-Service-Error-Code") ?? "", /^[45]\d\d$/, label);
    t.is(reply.headers?.get("Nats-Service-Error"), r.error.message.replace(/[\r\n]+/g, " ").slice(0, 1024), label);
  }
  // Subjects the server mapping cannot route still get an answer, not silence.
  for (const subject of ["count.get", "count.get.web.home.extra"]) {
    const r = (await nc.request(subject, "", { timeout: 10_000 })).json<{ error: { code: string } }>();
    t.is(r.error.code, "BAD_REQUEST", subject);
  }
  // A reserved namespace cannot be read.
  const r = (await nc.request("count.get._x.home", "", { timeout: 10_000 })).json<{ error: { code: string } }>();
  t.is(r.error.code, "BAD_REQUEST");
  // The node is still answering good reads.
  t.is((await tallyClient(nc).get("web", "home")).value, 0);
});

test("reads - minSeq beyond the stream times out with a retryable TIMEOUT, never a wrong value", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url, { readWaitMs: 300 });
  const client = tallyClient(nc, { retryDeadlineMs: 800 });
  const a = await client.inc("web", "home", { delta: 4 });
  t.is((await client.get("web", "home", { minSeq: a.seq })).value, 4);
  const err = await t.throwsAsync(client.get("web", "home", { minSeq: a.seq + 1000 }));
  t.true(err instanceof ClientError);
  t.is((err as ClientError).code, "TIMEOUT");
});

test("reads - minSeq gives read-your-writes on a busy shard", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const client = tallyClient(nc);
  let total = 0;
  for (let round = 0; round < 20; round++) {
    const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => client.inc("busy", `n${i % 5}`, { delta: 1 })));
    total += acks.length;
    const seq = Math.max(...acks.map((a) => a.seq));
    let sum = 0;
    for (let i = 0; i < 5; i++) sum += (await client.get("busy", `n${i}`, { minSeq: seq })).value;
    t.is(sum, total, `round ${round}`);
  }
});
