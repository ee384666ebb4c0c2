import test, { type ExecutionContext } from "ava";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { ClientError, tallyClient, type Batcher } from "@tally/client";
import type { Period } from "@tally/core";
import { waitFor } from "@tally/testing";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";
import { within } from "./helpers/deadline.js";
import { assertCountsExact } from "./helpers/exact-reads.js";
import { tcpProxy } from "./helpers/tcp-proxy.js";
import { Truth } from "./helpers/truth.js";

// The minute is what the batcher aggregates by: reading it back proves the events kept
// their minute, and the coarser periods their buckets.
const PERIODS: Period[] = ["all", "minute", "hour", "day"];
const MINUTE = 60_000;
/** Event times: minutes of the last hour, inside the minute period's 48 h retention. */
const BASE = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;

/** A connection that keeps reconnecting (to a restarted server, through a cut proxy); closed in teardown. */
async function reconnecting(t: ExecutionContext, url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  t.teardown(() => nc.close());
  return nc;
}

/**
 * Adds `rounds` events to every one of `names × minutes` keys (names with dots among
 * them), deltas from -2 to 5 at second offsets inside the minute; returns the key count.
 */
function addKeys(b: Batcher, truth: Truth, ns: string, names: number, minutes: number, rounds = 2): number {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names; i++) {
      const name = i % 3 === 0 ? `site.${i}.example.com` : `n${i}`;
      for (let m = 0; m < minutes; m++) {
        const delta = ((i + m + r) % 8) - 2;
        const ts = BASE + m * MINUTE + ((i * 7919 + r * 13) % MINUTE);
        void b.add(ns, name, delta, ts);
        truth.add(ns, name, delta, ts, PERIODS, 0);
      }
    }
  }
  return names * minutes;
}

test.serial(
  "batcher - pre-aggregates per minute; flush resolves with a seq usable as minSeq; totals exact",
  async (t) => {
    const { server, nc } = await tallyServer(t, { periods: PERIODS });
    await inProcessNode(t, server.url);
    const client = tallyClient(nc);
    const b = client.batcher({ flushIntervalMs: 50 });
    const truth = new Truth();
    const keys = addKeys(b, truth, "agg", 40, 5, 25);
    const { seq } = await b.flush();
    t.is(b.lastSeq, seq);
    t.is(b.stats.events, keys * 25);
    t.is(b.stats.published, keys, "one publish per (ns, name, minute): the adds ran before any timer");
    t.is(b.stats.retries, 0);
    // Adds after a flush go out with the timer, without another flush.
    void b.add("agg", "late", 3, BASE);
    truth.add("agg", "late", 3, BASE, PERIODS, 0);
    await waitFor(() => b.lastSeq > seq, { message: "the timer published the late add" });
    t.true((await b.close()).seq > seq);
    t.throws(() => b.add("agg", "x"), { instanceOf: ClientError, message: /close/ });
    t.true((await assertCountsExact(t, client, truth, b.lastSeq)) > keys);
  },
);

test.serial("batcher - nats-server killed and restarted midway through a flush: every event counts once", async (t) => {
  const { server } = await tallyServer(t, { periods: PERIODS });
  const pub = await reconnecting(t, server.url);
  // A narrow window keeps the flush in progress long enough to be cut in the middle.
  const client = tallyClient(pub, { maxInFlight: 4, publishTimeoutMs: 1000, publishRetryDeadlineMs: 60_000 });
  const b = client.batcher({ flushIntervalMs: 60_000, maxKeys: 10_000, maxPendingKeys: 20_000 });
  const truth = new Truth();
  const keys = addKeys(b, truth, "rs", 300, 10);
  const flushing = b.flush();
  flushing.catch(() => undefined); // awaited below
  await waitFor(() => b.stats.published >= 100, { intervalMs: 1, message: "the flush under way" });
  await server.kill("SIGKILL");
  const atKill = b.stats.published;
  t.true(atKill < keys, `the server died midway (${atKill} of ${keys} keys acked)`);
  // Adds while it is down go out with the next flush.
  addKeys(b, truth, "rs", 50, 2, 1);
  await server.restart();
  await within(flushing, 90_000, "the flush begun before the kill");
  const { seq } = await within(b.close(), 90_000, "the batcher to close");
  t.true(b.stats.retries > 0, "publishes were retried");
  t.log(`${atKill}/${keys} keys acked at the kill; ${b.stats.retries} retries; ${b.stats.published} keys published`);
  await inProcessNode(t, server.url);
  await assertCountsExact(t, tallyClient(pub, { retryDeadlineMs: 30_000 }), truth, seq);
});

test.serial("batcher - connection cut (TCP reset) midway through a flush: every event counts once", async (t) => {
  const { server, nc } = await tallyServer(t, { periods: PERIODS });
  await inProcessNode(t, server.url);
  const proxy = await tcpProxy(t, server.port);
  const pub = await reconnecting(t, proxy.url);
  const client = tallyClient(pub, { maxInFlight: 4, publishTimeoutMs: 1000, publishRetryDeadlineMs: 60_000 });
  const b = client.batcher({ flushIntervalMs: 60_000, maxKeys: 10_000, maxPendingKeys: 20_000 });
  const truth = new Truth();
  const keys = addKeys(b, truth, "cut", 300, 10);
  const flushing = b.flush();
  flushing.catch(() => undefined);
  await waitFor(() => b.stats.published >= 100, { intervalMs: 1, message: "the flush under way" });
  t.is(proxy.cut(), 1);
  const atCut = b.stats.published;
  t.true(atCut < keys, `the connection was cut midway (${atCut} of ${keys} keys acked)`);
  await within(flushing, 90_000, "the flush the cut interrupted");
  const { seq } = await b.close();
  // The publishes in flight at the cut lost their acks (some of them stored): retried
  // with their message ids, JetStream dropped the copies.
  t.true(b.stats.retries > 0, "publishes were retried");
  t.log(`${atCut}/${keys} keys acked at the cut; ${b.stats.retries} retries`);
  await assertCountsExact(t, tallyClient(nc, { retryDeadlineMs: 30_000 }), truth, seq);
});

test.serial(
  "batcher - maxKeys reached while a batch is publishing: the next grows instead of being sealed, until that one is acked; exact",
  async (t) => {
    const { server } = await tallyServer(t, { periods: PERIODS });
    const pub = await reconnecting(t, server.url);
    const client = tallyClient(pub, { publishTimeoutMs: 500, publishRetryDeadlineMs: 60_000 });
    const b = client.batcher({ flushIntervalMs: 60_000, maxKeys: 5, maxPendingKeys: 1000 });
    const truth = new Truth();
    const add = (name: string, delta: number) => {
      void b.add("cap", name, delta, BASE);
      truth.add("cap", name, delta, BASE, PERIODS, 0);
    };
    await server.kill("SIGKILL");
    // Five keys: sealed at once (nothing was publishing); no ack can come while the server is down.
    for (let i = 0; i < 5; i++) add(`a${i}`, 1);
    // Six keys, 24 adds: past maxKeys again and again, but the first batch is still publishing.
    for (let r = 0; r < 4; r++) for (let i = 0; i < 6; i++) add(`b${i}`, r + 1);
    await server.restart();
    const { seq } = await within(b.close(), 90_000, "the batcher to close");
    t.is(b.stats.published, 11, "the five keys, then one batch of the six (sealed every 5 keys it would be 29)");
    await inProcessNode(t, server.url);
    await assertCountsExact(t, tallyClient(pub, { retryDeadlineMs: 30_000 }), truth, seq);
  },
);

test.serial("batcher - add() waits while more than maxPendingKeys keys are unacked, then goes on; exact", async (t) => {
  const { server } = await tallyServer(t, { periods: PERIODS });
  const pub = await reconnecting(t, server.url);
  const client = tallyClient(pub, { publishTimeoutMs: 500, publishRetryDeadlineMs: 60_000 });
  const b = client.batcher({ flushIntervalMs: 10, maxKeys: 10, maxPendingKeys: 20 });
  const truth = new Truth();
  await server.kill("SIGKILL"); // nothing is acked until it is back
  const add = (i: number) => {
    truth.add("bp", `k${i}`, i, BASE, PERIODS, 0);
    return b.add("bp", `k${i}`, i, BASE);
  };
  for (let i = 0; i < 20; i++) {
    await add(i); // up to the bound: resolved at once
    t.false(b.full);
  }
  let settled = false;
  const waiting = add(20).finally(() => (settled = true));
  t.true(b.full, "full says the promise add() returned waits");
  await waitFor(() => b.stats.retries >= 4, {
    timeoutMs: 20_000,
    message: "publishes failing while the server is down",
  });
  t.false(settled, "add() waits while 21 keys are unacked");
  await server.restart();
  await within(waiting, 60_000, "add() to resolve once keys are acked");
  t.false(b.full);
  const { seq } = await b.close();
  await inProcessNode(t, server.url);
  await assertCountsExact(t, tallyClient(pub, { retryDeadlineMs: 30_000 }), truth, seq);
});

test.serial(
  "batcher - a closed connection: flush and close reject with CONNECTION_CLOSED and the unacked count; add throws; nothing runs on",
  async (t) => {
    const { server } = await tallyServer(t);
    const own = await reconnecting(t, server.url);
    const b = tallyClient(own, { publishTimeoutMs: 500, publishRetryDeadlineMs: 120_000 }).batcher({
      flushIntervalMs: 60_000,
    });
    void b.add("cl", "a", 2);
    t.true((await b.flush()).seq > 0);
    await server.kill("SIGKILL");
    for (let i = 0; i < 5; i++) void b.add("cl", `k${i}`);
    const flushing = b.flush();
    flushing.catch(() => undefined);
    await waitFor(() => b.stats.retries > 0, { timeoutMs: 20_000, message: "the flush retrying" });
    void b.add("cl", "open");
    const closedAt = Date.now();
    await own.close();
    const err = await t.throwsAsync(flushing, { instanceOf: ClientError });
    t.is(err?.code, "CONNECTION_CLOSED");
    t.regex(err?.message ?? "", /\b6 events\b/, "5 sealed and 1 open event not acked");
    t.false(err?.retryable);
    t.true(Date.now() - closedAt < 3000, "the retrying flush ended with the connection");
    t.is(t.throws(() => b.add("cl", "more"), { instanceOf: ClientError })?.code, "CONNECTION_CLOSED");
    t.is((await t.throwsAsync(b.close(), { instanceOf: ClientError }))?.code, "CONNECTION_CLOSED");
    t.is(b.stats.events, 7);
    t.is(b.stats.published, 1);
  },
);

test("batcher - bad input throws at once with a code and is not counted", async (t) => {
  const { nc } = await tallyServer(t, { init: false });
  const b = tallyClient(nc).batcher();
  t.teardown(() => b.close().catch(() => undefined));
  for (const [args, code] of [
    [["bad.ns", "x"], "BAD_SUBJECT"],
    [["top", "x"], "RESERVED_NAMESPACE"],
    [["web", ""], "BAD_SUBJECT"],
    [["web", "x", 0.5], "BAD_DELTA"],
    [["web", "x", 2 ** 60], "DELTA_OUT_OF_RANGE"],
    [["web", "x", 1, "soon"], "BAD_TS"],
    [["web", "x", 1, -5], "TS_OUT_OF_RANGE"],
  ] as const) {
    const err = t.throws(() => b.add(...(args as unknown as Parameters<Batcher["add"]>)));
    t.is((err as { code?: string }).code, code, JSON.stringify(args));
  }
  t.is(b.stats.events, 0);
  t.is((await b.close()).seq, 0, "nothing to publish");
});
