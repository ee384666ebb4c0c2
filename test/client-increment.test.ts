import test, { type ExecutionContext } from "ava";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { ClientError, tallyClient } from "@tally/client";
import { DEFAULT_PERIODS } from "@tally/core";
import { waitFor } from "@tally/testing";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";
import { within } from "./helpers/deadline.js";
import { assertCountsExact } from "./helpers/exact-reads.js";
import { DAY, RECENT_MONDAY } from "./helpers/time.js";
import { Truth } from "./helpers/truth.js";

const BASE = RECENT_MONDAY + DAY;

/** A connection that keeps reconnecting to a restarted server; closed in teardown. */
async function reconnecting(t: ExecutionContext, url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  t.teardown(() => nc.close());
  return nc;
}

test("increment - the same explicit msgId published twice counts once", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const client = tallyClient(nc);
  const first = await client.increment("dup", "a.b", 5, { msgId: "order-17" });
  const again = await client.increment("dup", "a.b", 5, { msgId: "order-17" });
  t.is(again, first, "JetStream answers the duplicate with the original's sequence");
  t.true((await client.inc("dup", "a.b", { delta: 5, msgId: "order-17" })).duplicate);
  const other = await client.increment("dup", "a.b", 2);
  t.true(other > first);
  t.is((await client.get("dup", "a.b", { minSeq: other })).value, 7);
});

test("increment - N concurrent increments: N distinct sequences and the exact count", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const client = tallyClient(nc, { maxInFlight: 32 });
  const truth = new Truth();
  const n = 3000;
  const seqs = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const name = i % 2 === 0 ? `page.${i % 10}` : `p${i % 7}`;
      const delta = (i % 5) - 1;
      const ts = BASE + ((i * 7919) % (3 * DAY));
      return client.increment("pipe", name, delta, { ts }).then((seq) => {
        truth.add("pipe", name, delta, ts, DEFAULT_PERIODS, seq);
        return seq;
      });
    }),
  );
  t.is(new Set(seqs).size, n);
  await assertCountsExact(t, client, truth, truth.lastSeq);
});

test.serial("increment - publishes retried across a nats-server kill and restart count exactly once", async (t) => {
  const { server } = await tallyServer(t);
  const pub = await reconnecting(t, server.url);
  const client = tallyClient(pub, { publishTimeoutMs: 1000, publishRetryDeadlineMs: 60_000 });
  const truth = new Truth();
  const started: Promise<number>[] = [];
  const increment = (i: number) => {
    const name = `k${i % 20}`;
    const delta = (i % 4) + 1;
    const ts = BASE + i * 1000;
    const p = client.increment("rs", name, delta, { ts }).then((seq) => {
      truth.add("rs", name, delta, ts, DEFAULT_PERIODS, seq);
      return seq;
    });
    started.push(p);
    p.catch(() => undefined); // awaited below
  };
  for (let i = 0; i < 500; i++) increment(i); // some acked, some in flight when the server dies
  await server.kill("SIGKILL");
  for (let i = 500; i < 800; i++) increment(i); // published while it is down
  await server.restart();
  const seqs = await within(Promise.all(started), 90_000, "every increment to be acked after the restart");
  t.is(new Set(seqs).size, 800, "every event has its own sequence");
  await inProcessNode(t, server.url);
  await assertCountsExact(t, tallyClient(pub, { retryDeadlineMs: 30_000 }), truth, truth.lastSeq);
});

test("increment - bad input throws at once with a code, before anything is published", async (t) => {
  const { nc } = await tallyServer(t);
  const client = tallyClient(nc);
  for (const [args, code] of [
    [["bad.ns", "x"], "BAD_SUBJECT"],
    [["get", "x"], "RESERVED_NAMESPACE"],
    [["_x", "x"], "RESERVED_NAMESPACE"],
    [["web", ""], "BAD_SUBJECT"],
    [["web", "x".repeat(300)], "BAD_SUBJECT"],
    [["web", "x", 1.5], "BAD_DELTA"],
    [["web", "x", Number.NaN], "BAD_DELTA"],
    [["web", "x", 2 ** 53], "DELTA_OUT_OF_RANGE"],
    [["web", "x", 1, { ts: "yesterday" }], "BAD_TS"],
    [["web", "x", 1, { ts: -1 }], "TS_OUT_OF_RANGE"],
    [["web", "x", 1, { msgId: "" }], "BAD_MSG_ID"],
    [["web", "x", 1, { msgId: "a\r\nb" }], "BAD_MSG_ID"],
  ] as const) {
    const err = t.throws(() => client.increment(...(args as unknown as Parameters<typeof client.increment>)));
    t.is((err as { code?: string }).code, code, JSON.stringify(args));
  }
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info("TALLY_EVENTS");
  t.is(info.state.messages, 0, "nothing was published");
});

test("increment - a closed connection rejects with CONNECTION_CLOSED; a retrying increment ends with it", async (t) => {
  const { server } = await tallyServer(t);
  const own = await reconnecting(t, server.url);
  const client = tallyClient(own, { publishTimeoutMs: 300, publishRetryDeadlineMs: 120_000 });
  t.true((await client.increment("cl", "a")) > 0);
  await server.kill("SIGKILL");
  const sent = own.stats().outMsgs;
  let settled = false;
  const retrying = client.increment("cl", "a").finally(() => (settled = true));
  retrying.catch(() => undefined);
  // Each attempt is one more message out (buffered while disconnected): a second one is a retry.
  await waitFor(() => own.stats().outMsgs >= sent + 2, { message: "the increment retrying" });
  t.false(settled, "still retrying while the server is down");
  const closedAt = Date.now();
  await own.close();
  const err = await t.throwsAsync(retrying, { instanceOf: ClientError });
  t.is(err?.code, "CONNECTION_CLOSED");
  t.false(err?.retryable);
  t.true(Date.now() - closedAt < 3000, "ended with the connection, not at the 120 s deadline");
  t.is((await t.throwsAsync(client.increment("cl", "a"), { instanceOf: ClientError }))?.code, "CONNECTION_CLOSED");
});
