import test from "ava";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { pino } from "pino";
import { DEFAULT_PERIODS, shardOf } from "@tally/core";
import { initCluster, natsMappings } from "@tally/node";
import { startServer, tempDir } from "@tally/testing";
import { Lease } from "../packages/node/src/cluster/leases.js";
import { createMetrics } from "../packages/node/src/http/metrics.js";
import { EVENTS_STREAM } from "../packages/node/src/names.js";
import { LogGapMarks } from "../packages/node/src/shard/log-gap-marks.js";
import { ShardActor } from "../packages/node/src/shard/shard-actor.js";
import { Checkpoints } from "../packages/node/src/storage/checkpoints.js";
import { SnapshotStore } from "../packages/node/src/storage/snapshot-store.js";

const SHARDS = 4;

// A shard that starts closing while the node's batch replay runs skips the replay's
// events. If it then took the replay's end as reached, its snapshots would claim events
// its counts lack, and a later restore from them would under-count.
test("shard actor - closed during its replay, it never claims the events it skipped", async (t) => {
  const server = await startServer({ extraConfig: natsMappings(SHARDS) });
  t.teardown(() => server.stop());
  const nc = await connect({ servers: server.url });
  t.teardown(() => nc.close());
  await initCluster(nc, { shards: SHARDS });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const name = Array.from({ length: 50 }, (_, i) => `k${i}`).find((n) => shardOf("t", n, SHARDS) === 1)!;
  for (let i = 0; i < 10; i++) await js.publish(`count.t.${name}`, "");
  const last = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;

  const dir = await tempDir("tally-actor-");
  t.teardown(() => dir.remove());
  const store = await SnapshotStore.open(dir.path);
  t.teardown(() => store.close());
  const log = pino({ level: "silent" });
  const ctx = {
    shards: SHARDS,
    periods: DEFAULT_PERIODS,
    nc,
    js,
    jsm,
    store,
    checkpoints: await Checkpoints.open(nc, log),
    nodeId: "t",
    metrics: createMetrics(() => []),
    log,
    readWaitMs: 1000,
    maxWaitingReads: 1000,
    pullBatch: 64,
    snapshotEvents: 1_000_000,
    maxSeriesPoints: 100,
    retention: () => ({}),
    now: Date.now,
    logGaps: await LogGapMarks.open(nc, "t", log),
  };
  const actor = new ShardActor(1, ctx, new Lease(1, 1, performance.now(), 60_000));
  await actor.restore(last);
  t.true(actor.takingReads);
  // The node hands the shard off before the replay has reached it…
  const closing = actor.close({ checkpoint: true });
  // …and the replay then ends: the actor must neither move on nor write what it never applied.
  await actor.consume(last);
  await actor.snapshot();
  await actor.checkpoint();
  await closing;
  t.is(actor.confirmedSeq, 0, "nothing of the replay is claimed");
  t.is(await store.shardSeq(1), 0, "the local snapshot claims no event");
  t.is(await ctx.checkpoints.head(1), undefined, "no shared checkpoint claims one either");
});
