import test from "ava";
import { jetstreamManager } from "@nats-io/jetstream";
import { tallyClient } from "@tally/client";
import { ALL_KEY, bucketIndex, bucketIso, bucketKey, shardOf, type Period } from "@tally/core";
import { EVENTS_STREAM, type TallyNode } from "@tally/node";
import { tempDir, waitFor } from "@tally/testing";
import { SnapshotStore } from "../packages/node/src/storage/snapshot-store.js";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";
import { RECENT_MONDAY } from "./helpers/time.js";

const HOUR = 3_600_000;
const PERIODS: Period[] = ["all", "hour"];
const COUNTERS = 20_000;
const HOURS = 50; // 20k counters × (50 hours + all-time) ≈ a million entries
/**
 * Longest event-loop stall allowed: well under the 4 s a lease stays valid without
 * renewal. Restoring or writing a million entries in one step took 2.4 s on an idle
 * machine; in slices the worst seen was 0.6 s with a load average of 12 on 2 cores.
 */
const MAX_STALL_MS = 2000;

/** Lease losses and the worst event-loop delay a node has seen, from its HTTP endpoint. */
async function health(node: TallyNode): Promise<{ leasesLost: number; maxDelayMs: number }> {
  const metrics = await (await fetch(`http://127.0.0.1:${node.httpPort}/metrics`)).text();
  const status = (await (await fetch(`http://127.0.0.1:${node.httpPort}/status`)).json()) as {
    eventLoopDelayMs: { max: number };
  };
  const lost = /^tally_leases_lost_total (\d+)/m.exec(metrics);
  return { leasesLost: Number(lost?.[1] ?? NaN), maxDelayMs: status.eventLoopDelayMs.max };
}

test("large shard - a million entries restore, checkpoint and restore again on another node while leases keep being renewed", async (t) => {
  t.timeout(240_000);
  const { server, nc } = await tallyServer(t, { shards: 1, periods: PERIODS });
  const client = tallyClient(nc);
  // The stream's first event; the planted snapshot below claims it (sequence 1) and holds its counts.
  const ts = RECENT_MONDAY;
  t.is((await client.inc("big", "c0", { ts })).seq, 1);
  t.is(shardOf("big", "c0", 1), 0);

  // A local snapshot of a million entries, as a node that counted them would have left it.
  const dir = await tempDir("tally-large-");
  t.teardown(() => dir.remove());
  const stream = await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM);
  const store = await SnapshotStore.open(dir.path);
  await store.checkIdentity({ shards: 1, periods: PERIODS.join(","), streamCreated: stream.created });
  const value = (c: number, h: number) => 1 + ((c * 7 + h) % 13);
  const upserts: (string | number)[] = [];
  for (let c = 0; c < COUNTERS; c++) {
    let all = c === 0 ? 1 : 0;
    for (let h = 0; h < HOURS; h++) {
      const v = value(c, h) + (c === 0 && h === 0 ? 1 : 0);
      upserts.push("big", `c${c}`, bucketKey("hour", bucketIndex("hour", ts + h * HOUR)), v);
      all += value(c, h);
    }
    upserts.push("big", `c${c}`, ALL_KEY, all);
  }
  await store.writeShard(0, 1, upserts);
  await store.close();
  const entries = COUNTERS * (HOURS + 1);
  const expect = async (c: number, h: number) => {
    const at = ts + h * HOUR;
    const r = await client.get("big", `c${c}`, { period: "hour", at });
    t.is(r.value, value(c, h) + (c === 0 && h === 0 ? 1 : 0), `c${c} ${bucketIso("hour", bucketIndex("hour", at))}`);
  };

  // Node A restores it from LevelDB, then writes it to the shared checkpoint.
  const a = await inProcessNode(t, server.url, {
    id: "a",
    dataDir: dir.path,
    httpPort: 0,
    checkpointIntervalMs: 3_600_000,
  });
  await waitFor(() => a.stats()[0]?.ready === true, { timeoutMs: 60_000, message: "node a to serve the shard" });
  t.is(a.stats()[0]!.entries, entries);
  await expect(123, 17);
  await a.checkpoint();
  const ha = await health(a);
  t.is(ha.leasesLost, 0, "no lease lapsed while restoring and checkpointing");
  t.true(ha.maxDelayMs < MAX_STALL_MS, `node a's event loop never stalled for long (worst ${ha.maxDelayMs} ms)`);
  await a.close(); // hands the shard off

  // Node B, with an empty data dir, restores the million entries from the shared checkpoint.
  const b = await inProcessNode(t, server.url, { id: "b", httpPort: 0 });
  await waitFor(() => b.stats()[0]?.ready === true, { timeoutMs: 60_000, message: "node b to serve the shard" });
  t.is(b.stats()[0]!.entries, entries);
  t.is(b.stats()[0]!.source, "shared");
  await expect(0, 0);
  await expect(19_999, 49);
  t.is(
    (await client.get("big", "c7")).value,
    Array.from({ length: HOURS }, (_, h) => value(7, h)).reduce((x, y) => x + y),
  );
  await b.snapshot(); // the whole state goes to B's LevelDB, in slices
  const hb = await health(b);
  t.log(`worst event-loop delay: node a ${ha.maxDelayMs} ms, node b ${hb.maxDelayMs} ms`);
  t.is(hb.leasesLost, 0, "no lease lapsed while restoring from the checkpoint and snapshotting");
  t.true(hb.maxDelayMs < MAX_STALL_MS, `node b's event loop never stalled for long (worst ${hb.maxDelayMs} ms)`);
});
