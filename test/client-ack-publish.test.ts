import test, { type ExecutionContext } from "ava";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { ClientError } from "@tally/client";
import { startServer, type NatsServer } from "@tally/testing";
import { Publisher, type PublisherSettings } from "../packages/client/src/publisher.js";
import { within } from "./helpers/deadline.js";

// The client's own acked publish (packages/client/src/ack-publish.ts) against JetStream's
// real answers: acks, duplicates, error replies, no responders, a closed connection.

const SETTINGS: PublisherSettings = { maxInFlight: 64, publishTimeoutMs: 5000, publishRetryDeadlineMs: 15_000 };

/** A server with stream OK (`ok.>`) and stream STRICT (`strict.>`, messages of at most 64 bytes). */
async function streams(t: ExecutionContext): Promise<{ server: NatsServer; url: string }> {
  const server = await startServer();
  t.teardown(() => server.stop());
  const nc = await connect({ servers: server.url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "OK", subjects: ["ok.>"] });
    await jsm.streams.add({ name: "STRICT", subjects: ["strict.>"], max_msg_size: 64 });
  } finally {
    await nc.close();
  }
  return { server, url: server.url };
}

async function connected(t: ExecutionContext, url: string, reconnect = false): Promise<NatsConnection> {
  const nc = await connect({
    servers: url,
    ...(reconnect ? { maxReconnectAttempts: -1, reconnectTimeWait: 100 } : {}),
  });
  t.teardown(() => nc.close());
  return nc;
}

const body = (n: number) => new Uint8Array(n).fill(0x61);

test("ack publish - acks carry stream and seq; the same msgId again is a duplicate with the original's seq", async (t) => {
  const { url } = await streams(t);
  const pub = new Publisher(await connected(t, url), SETTINGS);
  const first = await pub.publish("ok.a", body(3), "m-1");
  t.like(first, { stream: "OK", duplicate: false });
  const again = await pub.publish("ok.a", body(3), "m-1");
  t.deepEqual(again, { stream: "OK", seq: first.seq, duplicate: true });
  const acks = await Promise.all(Array.from({ length: 500 }, (_, i) => pub.publish(`ok.${i % 7}`, body(1), `n-${i}`)));
  const seqs = acks.map((a) => a.seq);
  t.is(new Set(seqs).size, 500, "every publish has its own ack");
  t.is(Math.min(...seqs), first.seq + 1);
  t.is(Math.max(...seqs), first.seq + 500);
  const noId = await pub.publish("ok.b", body(1), undefined);
  t.deepEqual(noId, { stream: "OK", seq: first.seq + 501, duplicate: false });
});

test("ack publish - JetStream's error reply is PUBLISH_REJECTED at once, not retried", async (t) => {
  const { url } = await streams(t);
  const pub = new Publisher(await connected(t, url), SETTINGS);
  let retries = 0;
  const err = await t.throwsAsync(pub.publish("strict.a", body(200), "big-1", { onRetry: () => retries++ }), {
    instanceOf: ClientError,
  });
  t.is(err?.code, "PUBLISH_REJECTED");
  t.false(err?.retryable);
  t.regex(err?.message ?? "", /strict\.a.*err_code 10054/);
  t.is(retries, 0);
  t.like(await pub.publish("strict.a", body(10), "small-1"), { stream: "STRICT", seq: 1 });
});

test("ack publish - no stream for the subject: NO_STREAM, retried until the deadline", async (t) => {
  const { url } = await streams(t);
  const pub = new Publisher(await connected(t, url), SETTINGS);
  let retries = 0;
  const err = await t.throwsAsync(
    pub.publish("nowhere.a", body(1), "x-1", { retryDeadlineMs: 300, onRetry: () => retries++ }),
    { instanceOf: ClientError },
  );
  t.is(err?.code, "NO_STREAM");
  t.true(err?.retryable);
  t.true(retries >= 1, `retried ${retries} times`);
  // Without a message id a publish is never retried.
  const once = await t.throwsAsync(pub.publish("nowhere.a", body(1), undefined), { instanceOf: ClientError });
  t.is(once?.code, "NO_STREAM");
});

test("ack publish - no ack in time is TIMEOUT; closing the connection fails every pending publish with CONNECTION_CLOSED at once", async (t) => {
  const { server, url } = await streams(t);
  const nc = await connected(t, url, true);
  const pub = new Publisher(nc, { maxInFlight: 64, publishTimeoutMs: 300, publishRetryDeadlineMs: 60_000 });
  t.like(await pub.publish("ok.a", body(1), "before"), { stream: "OK" });
  await server.kill("SIGKILL");
  // One attempt, no retries: its ack cannot come while the server is down.
  const timedOut = await t.throwsAsync(pub.publish("ok.a", body(1), "t-1", { retryDeadlineMs: 0 }), {
    instanceOf: ClientError,
  });
  t.is(timedOut?.code, "TIMEOUT");
  t.true(timedOut?.retryable);
  // These (fewer than the window) wait for acks that cannot come before the connection closes:
  // their attempts time out after 30 s, so failing within 5 s is the close failing them.
  const waiting = new Publisher(nc, { maxInFlight: 64, publishTimeoutMs: 30_000, publishRetryDeadlineMs: 60_000 });
  const pending = Array.from({ length: 50 }, (_, i) =>
    waiting.publish(`ok.${i}`, body(1), `p-${i}`).then(
      () => "acked",
      (err: unknown) => (err instanceof ClientError ? err.code : String(err)),
    ),
  );
  await nc.close();
  const codes = await within(Promise.all(pending), 5000, "every pending publish to fail once closed");
  t.deepEqual(new Set(codes), new Set(["CONNECTION_CLOSED"]));
  const after = await t.throwsAsync(pub.publish("ok.a", body(1), "after"), { instanceOf: ClientError });
  t.is(after?.code, "CONNECTION_CLOSED");
});
