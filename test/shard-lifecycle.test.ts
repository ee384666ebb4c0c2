import test from "ava";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { pino } from "pino";
import { DEFAULT_PERIODS, bucketIndex, bucketIso, shardOf } from "@tally/core";
import { tallyClient } from "@tally/client";
import { startNode, type TallyNode } from "@tally/node";
import { tempDir, waitFor } from "@tally/testing";
import { tallyCluster } from "./helpers/cluster.js";
import { Truth } from "./helpers/truth.js";
import { within } from "./helpers/deadline.js";

import { DAY, RECENT_MONDAY } from "./helpers/time.js";
const BASE = RECENT_MONDAY + 2 * DAY;
const FAST = { heartbeatMs: 200, memberTimeoutMs: 1500, checkpointIntervalMs: 500, snapshotIntervalMs: 200 };
/** Log lines that mean a snapshot, checkpoint or hand-off write failed. */
const WRITE_FAILED =
  /lease release failed|snapshot write failed|final snapshot failed|hand-off: final snapshot or checkpoint failed|closing a dropped shard failed|shared checkpoint write failed/;

test("lifecycle - a node closed in the middle of a hand-off finishes it: no snapshot write fails, counts exact", async (t) => {
  const { nc, url } = await tallyCluster(t, { shards: 16 });
  const js = jetstream(nc);
  const truth = new Truth();
  const publish = async (n: number, offset: number) => {
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, n - i) }, async (_, j) => {
          const k = offset + i + j;
          const name = `k${k % 500}`;
          const delta = (k % 5) + 1;
          const ts = BASE + (k % 3) * DAY + ((k * 7919) % DAY);
          const ack = await js.publish(`count.life.${name}`, JSON.stringify({ delta, ts }));
          truth.add("life", name, delta, ts, DEFAULT_PERIODS, ack.seq);
        }),
      );
    }
  };

  // Node A, with its log kept: the moment it starts a hand-off, it is told to close.
  const lines: string[] = [];
  const started: { a?: TallyNode } = {};
  let closingA: Promise<void> | undefined;
  const logA = pino(
    { level: "debug", base: { node: "a" } },
    {
      write(line: string) {
        lines.push(line);
        if (!closingA && started.a && line.includes('"msg":"hand-off started"')) closingA = started.a.close();
      },
    },
  );
  const dirA = await tempDir("tally-life-a-");
  const dirB = await tempDir("tally-life-b-");
  t.teardown(() => dirA.remove());
  t.teardown(() => dirB.remove());
  const a = (started.a = await startNode({
    connection: { servers: url },
    dataDir: dirA.path,
    id: "a",
    logger: logA,
    ...FAST,
  }));
  t.teardown(() => within(a.close(), 30_000, "node a to close"));
  await publish(3000, 0);

  // B joins: A must hand shards over, and is closed while the first hand-off runs.
  const b = await startNode({ connection: { servers: url }, dataDir: dirB.path, id: "b", logLevel: "error", ...FAST });
  t.teardown(() => within(b.close(), 30_000, "node b to close"));
  await waitFor(() => closingA !== undefined, { timeoutMs: 60_000, message: "node A to start handing a shard to B" });
  await closingA;
  t.is(a.status, "closed");
  const failures = lines.filter((l) => WRITE_FAILED.test(l));
  t.deepEqual(failures, [], "no snapshot, checkpoint or hand-off write failed while A closed mid-hand-off");
  t.true(
    lines.some((l) => l.includes('"msg":"final snapshot written"')),
    "A wrote its final snapshots",
  );

  // B now serves every shard; more events arrive; everything is exact.
  await publish(500, 3000);
  const client = tallyClient(nc, { retryDeadlineMs: 30_000 });
  for (const counter of truth.counters) {
    const name = counter.slice("life.".length);
    t.is((await client.get("life", name, { minSeq: truth.lastSeq })).value, truth.value("life", name, "all"), counter);
    const at = BASE + DAY;
    const day = await client.get("life", name, { period: "day", at, minSeq: truth.lastSeq });
    t.is(day.value, truth.value("life", name, "day", bucketIso("day", bucketIndex("day", at))), `${counter} day`);
  }

  // A's data dir was closed cleanly: a node restarts on it, and restores exactly once B is gone.
  await b.close();
  const again = await startNode({
    connection: { servers: url },
    dataDir: dirA.path,
    id: "a2",
    logLevel: "error",
    ...FAST,
  });
  t.teardown(() => within(again.close(), 30_000, "node again to close"));
  for (const counter of truth.counters) {
    const name = counter.slice("life.".length);
    t.is((await client.get("life", name, { minSeq: truth.lastSeq })).value, truth.value("life", name, "all"), counter);
  }
});

test("lifecycle - a node stops while a shard's replay retries a dead letter that cannot be written", async (t) => {
  // B must take its shards by hand-off, after it started: shards it took in its first round
  // (A's heartbeats or renewals late on a busy machine, so A looks dead) would be replayed
  // before startNode returns, and that replay waits on the dead letter for good. Long member
  // timeout and lease TTL keep A alive under load; the hand-off does not wait for either.
  const { nc, url } = await tallyCluster(t, { shards: 4, leaseTtlMs: 15_000 });
  const SLOW_TO_DIE = { ...FAST, memberTimeoutMs: 15_000 };
  const js = jetstream(nc);
  const dirA = await tempDir("tally-life-dlq-a-");
  const dirB = await tempDir("tally-life-dlq-b-");
  t.teardown(() => dirA.remove());
  t.teardown(() => dirB.remove());
  const a = await within(
    startNode({ connection: { servers: url }, dataDir: dirA.path, id: "a", logLevel: "fatal", ...SLOW_TO_DIE }),
    60_000,
    "node a to start",
  );
  t.teardown(() => within(a.close(), 30_000, "node a to close"));
  await within(a.checkpoint(), 30_000, "node a's checkpoint");
  // Without the dead-letter stream, recording an invalid event is retried until it is stored.
  await (await jetstreamManager(nc)).streams.delete("TALLY_DLQ");
  for (let s = 0; s < 4; s++) {
    const name = Array.from({ length: 200 }, (_, i) => `k${i}`).find((n) => shardOf("dlq", n, 4) === s)!;
    await js.publish(`count.dlq.${name}`, "not-a-number");
  }
  // B takes half the shards; their replay reaches an invalid event and keeps retrying it.
  const b = await within(
    startNode({ connection: { servers: url }, dataDir: dirB.path, id: "b", logLevel: "fatal", ...SLOW_TO_DIE }),
    60_000,
    "node b to start",
  );
  t.teardown(() => within(b.close(), 30_000, "node b to close"));
  await waitFor(() => a.stats().length === 2, { timeoutMs: 30_000, message: "A handed two shards to B" });
  // B's stop must not be held up by a dead letter its replay cannot write.
  await within(b.close(), 30_000, "node B to close while its replay retries a dead letter");
  t.is(b.status, "closed");
});
