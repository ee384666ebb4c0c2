import test, { type ExecutionContext } from "ava";
import { jetstream } from "@nats-io/jetstream";
import { DEFAULT_PERIODS, bucketIndex, bucketIso } from "@tally/core";
import { tallyClient } from "@tally/client";
import { tempDir, waitFor } from "@tally/testing";
import { spawnNode, tallyServer } from "./helpers/cluster.js";
import { within } from "./helpers/deadline.js";
import { Truth } from "./helpers/truth.js";

import { DAY, RECENT_MONDAY } from "./helpers/time.js";
const enc = new TextEncoder();

/** Publishes `n` events with event times over 5 days; records each acked one in `truth`. */
async function publishSome(js: ReturnType<typeof jetstream>, truth: Truth, n: number, offset: number): Promise<void> {
  const base = RECENT_MONDAY + 2 * DAY;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const k = offset + i;
    const ns = `app${k % 2}`;
    const name = `k${(k * 7) % 30}`;
    const delta = k % 11 === 0 ? -3 : (k % 5) + 1;
    const ts = base + (k % 5) * DAY + ((k * 7919) % DAY);
    inflight.push(
      js
        .publish(`count.${ns}.${name}`, enc.encode(JSON.stringify({ delta, ts })))
        .then((ack) => truth.add(ns, name, delta, ts, DEFAULT_PERIODS, ack.seq)),
    );
    if (inflight.length >= 100) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
}

async function assertExact(t: ExecutionContext, client: ReturnType<typeof tallyClient>, truth: Truth): Promise<void> {
  for (const counter of truth.counters) {
    const [ns, name] = counter.split(".") as [string, string];
    t.is((await client.get(ns, name, { minSeq: truth.lastSeq })).value, truth.value(ns, name, "all"), `${counter} all`);
    for (let d = 0; d < 5; d++) {
      const at = RECENT_MONDAY + 2 * DAY + d * DAY;
      const r = await client.get(ns, name, { period: "day", at, minSeq: truth.lastSeq });
      t.is(r.value, truth.value(ns, name, "day", bucketIso("day", bucketIndex("day", at))), `${counter} day ${d}`);
    }
  }
}

test("crash - kill -9 mid-stream, restart, every all-time and day bucket exact", async (t) => {
  const { server, nc } = await tallyServer(t);
  const dir = await tempDir("tally-crash-");
  t.teardown(() => dir.remove());
  const js = jetstream(nc);
  const client = tallyClient(nc, { retryDeadlineMs: 30_000 });
  const truth = new Truth();

  const first = spawnNode(t, server.url, dir.path, ["--snapshot-events", "300", "--snapshot-interval", "100"]);
  await first.ready;
  // Publish continuously; kill the node while events are flowing, after some snapshots exist.
  const publishing = publishSome(js, truth, 6000, 0);
  await waitFor(() => truth.lastSeq > 2500, { timeoutMs: 60_000, message: "publishing did not progress" });
  first.proc.kill("SIGKILL");
  t.is(await within(first.exited, 10_000, "the node to die of SIGKILL"), "SIGKILL");
  await publishing; // acked while no node was running: must still count, once
  await publishSome(js, truth, 500, 6000);

  const second = spawnNode(t, server.url, dir.path);
  await second.ready;
  t.regex(second.stderr(), /node ready/);
  await publishSome(js, truth, 500, 6500);
  await assertExact(t, client, truth);
});

test("crash - SIGTERM flushes a final snapshot and exits 0; restart is exact", async (t) => {
  const { server, nc } = await tallyServer(t);
  const dir = await tempDir("tally-term-");
  t.teardown(() => dir.remove());
  const js = jetstream(nc);
  const client = tallyClient(nc, { retryDeadlineMs: 30_000 });
  const truth = new Truth();
  // Snapshots only on shutdown: interval and event threshold are far away.
  const first = spawnNode(t, server.url, dir.path, ["--snapshot-events", "10000000", "--snapshot-interval", "3600000"]);
  await first.ready;
  await publishSome(js, truth, 1000, 0);
  await assertExact(t, client, truth);
  first.proc.kill("SIGTERM");
  t.is(await within(first.exited, 60_000, "the node to exit after SIGTERM"), 0);
  t.regex(first.stderr(), /final snapshot written/);
  const snapshotSeqs = JSON.parse(
    first
      .stderr()
      .split("\n")
      .find((l) => l.includes("final snapshot written"))!,
  ) as { shards: [number, number][] };
  t.is(Math.max(...snapshotSeqs.shards.map(([, seq]) => seq)), truth.lastSeq, "the final snapshot covers every event");

  const second = spawnNode(t, server.url, dir.path);
  await second.ready;
  await assertExact(t, client, truth);
});

test("crash - a second node on the same data dir refuses clearly and leaves it intact", async (t) => {
  const { server, nc } = await tallyServer(t);
  const dir = await tempDir("tally-lock-");
  t.teardown(() => dir.remove());
  const truth = new Truth();
  const first = spawnNode(t, server.url, dir.path);
  await first.ready;
  await publishSome(jetstream(nc), truth, 300, 0);
  const second = spawnNode(t, server.url, dir.path);
  t.is(await within(second.exited, 60_000, "the second node to refuse the locked data dir"), 1);
  t.regex(second.stderr(), /DATA_DIR_LOCKED/);
  t.is(first.proc.exitCode, null, "the first node keeps running");
  await assertExact(t, tallyClient(nc), truth);
});
