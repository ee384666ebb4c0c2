import test from "ava";
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { startServer, waitFor, type NatsServer } from "@tally/testing";
import { ClientError, RETRYABLE_CODES, tallyClient } from "@tally/client";

// A real nats-server, no Tally node: a plain stream stores the events and a plain
// subscription plays the node's part in reads, so each test sets the replies it needs.
let server: NatsServer;
let nc: NatsConnection;

test.before(async () => {
  server = await startServer();
  nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "EVENTS", subjects: ["count.*.*"] });
});

test.after.always(async () => {
  await nc?.close();
  await server?.stop();
});

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Answers reads of `count.get.<ns>.*` with `replies` in turn (the last one forever); counts requests. */
function responder(ns: string, replies: unknown[]): { requests: () => number; stop: () => void } {
  let n = 0;
  const sub = nc.subscribe(`count.get.${ns}.*`, {
    callback: (_err, msg: Msg) => {
      const reply = replies[Math.min(n, replies.length - 1)];
      n++;
      msg.respond(enc.encode(JSON.stringify(reply)));
    },
  });
  return { requests: () => n, stop: () => sub.unsubscribe() };
}

/** A connection of its own, so a test can close it; closed in teardown whatever happens. */
async function ownConnection(t: { teardown: (fn: () => Promise<void>) => void }): Promise<NatsConnection> {
  const c = await connect({ servers: server.url });
  t.teardown(() => c.close());
  return c;
}

const notReady = (retryable?: boolean) => ({
  error: { code: "NOT_READY", message: "shard replaying", ...(retryable === undefined ? {} : { retryable }) },
});
const badRequest = (retryable?: boolean) => ({
  error: { code: "BAD_REQUEST", message: "no", ...(retryable === undefined ? {} : { retryable }) },
});
const value = (ns: string, v: number) => ({ ns, name: "x", period: "all", value: v });

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof ClientError ? err.code : `not a ClientError: ${String(err)}`;
  }
}

test("client - inc publishes the smallest body: empty for +1, the integer, JSON with a time", async (t) => {
  const client = tallyClient(nc);
  const jsm = await jetstreamManager(nc);
  const body = async (seq: number) => {
    const m = await jsm.streams.getMessage("EVENTS", { seq });
    if (m === null) throw new Error(`no message ${seq}`);
    return dec.decode(m.data);
  };
  t.is(await body((await client.inc("bodies", "a")).seq), "");
  t.is(await body((await client.inc("bodies", "a", { delta: 1 })).seq), "");
  t.is(await body((await client.inc("bodies", "a", { delta: -7 })).seq), "-7");
  t.is(await body((await client.inc("bodies", "a", { delta: 0 })).seq), "0");
  t.is(await body((await client.inc("bodies", "a", { ts: 5 })).seq), '{"delta":1,"ts":5}');
  t.is(
    await body((await client.inc("bodies", "a", { delta: 3, ts: new Date(Date.UTC(2026, 10, 21)) })).seq),
    `{"delta":3,"ts":${Date.UTC(2026, 10, 21)}}`,
  );
  t.is(
    await body((await client.inc("bodies", "a", { delta: 2, ts: "2026-11-21T10:00:00Z" })).seq),
    `{"delta":2,"ts":${Date.UTC(2026, 10, 21, 10)}}`,
  );
});

test("client - inc refuses a bad delta or time before publishing", async (t) => {
  const client = tallyClient(nc);
  const jsm = await jetstreamManager(nc);
  for (const [opts, code] of [
    [{ delta: 1.5 }, "BAD_DELTA"],
    [{ delta: Number.NaN }, "BAD_DELTA"],
    [{ delta: 2 ** 53 }, "DELTA_OUT_OF_RANGE"],
    [{ ts: "yesterday" }, "BAD_TS"],
    [{ ts: new Date(Number.NaN) }, "BAD_TS"],
    [{ ts: -1 }, "TS_OUT_OF_RANGE"],
  ] as const) {
    const err = await t.throwsAsync(client.inc("refused", "a", opts));
    t.is((err as { code?: string }).code, code, JSON.stringify(opts));
  }
  // Other tests of this file publish at the same time: look only at this test's subject.
  const info = await jsm.streams.info("EVENTS", { subjects_filter: "count.refused.>" });
  t.deepEqual(Object.keys(info.state.subjects ?? {}), [], "nothing was published");
});

test("client - a read retries when the error reply says retryable, whatever the code", async (t) => {
  const r = responder("rt1", [badRequest(true), badRequest(true), value("rt1", 4)]);
  t.teardown(r.stop);
  t.is((await tallyClient(nc).get("rt1", "x")).value, 4);
  t.is(r.requests(), 3);
});

test("client - a read stops at once when the error reply says not retryable, whatever the code", async (t) => {
  const r = responder("rt2", [notReady(false), value("rt2", 4)]);
  t.teardown(r.stop);
  const err = await t.throwsAsync(tallyClient(nc).get("rt2", "x"), { instanceOf: ClientError });
  t.is(err?.code, "NOT_READY");
  t.false(err?.retryable);
  t.is(r.requests(), 1);
});

test("client - an error reply without retryable falls back to core's retryable codes", async (t) => {
  t.true(RETRYABLE_CODES.has("NOT_READY"));
  t.false(RETRYABLE_CODES.has("BAD_REQUEST"));
  const retried = responder("rt3", [notReady(), value("rt3", 9)]);
  t.teardown(retried.stop);
  t.is((await tallyClient(nc).get("rt3", "x")).value, 9);
  t.is(retried.requests(), 2);
  const final = responder("rt4", [badRequest(), value("rt4", 9)]);
  t.teardown(final.stop);
  t.is(await codeOf(tallyClient(nc).get("rt4", "x")), "BAD_REQUEST");
  t.is(final.requests(), 1);
});

test("client - a malformed reply is a final BAD_REPLY", async (t) => {
  for (const [ns, reply] of [
    ["br1", "not json"],
    ["br2", [1]],
    ["br3", { error: "x" }],
  ] as const) {
    const r = responder(ns, [reply]);
    t.teardown(r.stop);
    t.is(await codeOf(tallyClient(nc).get(ns, "x")), "BAD_REPLY", ns);
    t.is(r.requests(), 1, ns);
  }
});

test("client - closing the connection ends a retrying read at once with CONNECTION_CLOSED", async (t) => {
  const r = responder("closing", [notReady(true)]);
  t.teardown(r.stop);
  const own = await ownConnection(t);
  const read = codeOf(tallyClient(own, { retryDeadlineMs: 120_000 }).get("closing", "x"));
  await waitFor(() => r.requests() >= 3, { message: "the read retrying" });
  const closedAt = Date.now();
  await own.close();
  t.is(await read, "CONNECTION_CLOSED");
  // At most one backoff (1 s) after the close, never the 120 s retry deadline.
  t.true(Date.now() - closedAt < 3000);
});

test("client - draining the connection ends a read retrying no responders with CONNECTION_CLOSED", async (t) => {
  const own = await ownConnection(t);
  const client = tallyClient(own, { retryDeadlineMs: 120_000 });
  const read = codeOf(client.get("nobody", "x"));
  // Let it fail at least once with no responders first.
  const probe = await codeOf(tallyClient(own, { retryDeadlineMs: 0 }).get("nobody", "x"));
  t.is(probe, "NO_RESPONDERS");
  const drainedAt = Date.now();
  await own.drain();
  t.is(await read, "CONNECTION_CLOSED");
  t.true(Date.now() - drainedAt < 3000);
});

test("client - a closed connection fails reads and publishes with CONNECTION_CLOSED, not retried", async (t) => {
  const r = responder("closed", [value("closed", 1)]);
  t.teardown(r.stop);
  const own = await ownConnection(t);
  const client = tallyClient(own);
  await own.close();
  const err = await t.throwsAsync(client.get("closed", "x"), { instanceOf: ClientError });
  t.is(err?.code, "CONNECTION_CLOSED");
  t.false(err?.retryable);
  t.is(await codeOf(client.inc("closed", "x")), "CONNECTION_CLOSED");
  t.is(r.requests(), 0);
});

test("client - a read with nameEncoded sends the name as the subject token, without encoding it again", async (t) => {
  const subjects: string[] = [];
  const sub = nc.subscribe("count.get.enc.*", {
    callback: (_err, msg: Msg) => {
      subjects.push(msg.subject);
      msg.respond(enc.encode(JSON.stringify(value("enc", 1))));
    },
  });
  t.teardown(() => sub.unsubscribe());
  const client = tallyClient(nc);
  await client.get("enc", "%41");
  await client.get("enc", "%41", { nameEncoded: true });
  await client.series("enc", "a.b", { period: "day", from: 0, to: 0 });
  await client.series("enc", "a%2eb", { period: "day", from: 0, to: 0, nameEncoded: true });
  t.deepEqual(subjects, ["count.get.enc.%2541", "count.get.enc.%41", "count.get.enc.a%2Eb", "count.get.enc.a%2eb"]);
});
