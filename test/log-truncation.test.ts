import test, { type ExecutionContext } from "ava";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { shardOf } from "@tally/core";
import { EVENTS_STREAM, LOG_MAX_BYTES_FLOOR, clusterStatus, initCluster, type InitOptions } from "@tally/node";
import { tempDir, waitFor } from "@tally/testing";
import {
  FAST_NODE,
  STATUS_ATTEMPT_MS,
  inProcessNode,
  spawnNode,
  tallyCluster,
  waitBalanced,
} from "./helpers/cluster.js";
import { within } from "./helpers/deadline.js";
import { assertExact, startLoad } from "./helpers/load.js";

const SHARDS = 4;
const COUNTERS = 24;
/** Checkpoint interval of every node here: ten of them (3 s) is the shortest log max age allowed. */
const CHECKPOINT_MS = 300;
const FAST = { heartbeatMs: 200, memberTimeoutMs: 1500, snapshotIntervalMs: 200, checkpointIntervalMs: CHECKPOINT_MS };

/**
 * Two spawned nodes count a load while the log drops its oldest events (by `limits`),
 * until it has dropped at least `dropped` of them; then both are SIGKILLed and two
 * in-process nodes with empty data dirs take over: every count must equal the ground
 * truth, which holds the events no longer in the log, and no shard may be marked.
 */
async function truncateKillRestart(t: ExecutionContext, limits: InitOptions, dropped: number): Promise<void> {
  const { nc, url } = await tallyCluster(t, { shards: SHARDS });
  await initCluster(nc, { ...limits, checkpointIntervalMs: CHECKPOINT_MS });
  const jsm = await jetstreamManager(nc);
  const names = Array.from({ length: COUNTERS }, (_, k) => `k${k}`);
  t.is(new Set(names.map((n) => shardOf("load", n, SHARDS))).size, SHARDS, "every shard counts some counter");
  const flags = [...FAST_NODE, "--checkpoint-interval", String(CHECKPOINT_MS)];
  const spawned = [];
  for (const id of ["a", "b"]) {
    const dir = await tempDir("tally-trunc-");
    t.teardown(() => dir.remove());
    spawned.push(spawnNode(t, url, dir.path, ["--id", id, ...flags]));
  }
  await Promise.all(spawned.map((n) => n.ready));
  await waitBalanced(nc, ["a", "b"]);

  const load = startLoad(t, nc, { counters: COUNTERS, concurrency: 4 });
  await waitFor(async () => (await jsm.streams.info(EVENTS_STREAM)).state.first_seq > dropped, {
    timeoutMs: 120_000,
    intervalMs: 200,
    message: `the log to drop ${dropped} events while the nodes run`,
  });
  await load.stop();
  await waitApplied(nc, load.truth.lastSeq);
  for (const n of spawned) n.proc.kill("SIGKILL");
  for (const n of spawned) await within(n.exited, 10_000, "a node to exit after SIGKILL");
  const firstSeq = (await jsm.streams.info(EVENTS_STREAM)).state.first_seq;
  t.true(firstSeq > dropped, `the log starts at ${firstSeq}: the ground truth holds ${firstSeq - 1} events it lost`);

  // Fresh data dirs: the counts can only come from the shared checkpoints and the log.
  await Promise.all(["c", "d"].map((id) => inProcessNode(t, url, { id, ...FAST })));
  await waitBalanced(nc, ["c", "d"]);
  await assertExact(t, nc, load.truth);
  const st = await clusterStatus(nc);
  t.deepEqual(
    st.shards.filter((s) => s.logGap).map((s) => s.shard),
    [],
    "no shard is marked: every event the log dropped was in a checkpoint",
  );
}

/** Waits until the owners report every event up to `seq` of every shard processed. */
async function waitApplied(nc: NatsConnection, seq: number): Promise<void> {
  await waitFor(
    async () => {
      const st = await clusterStatus(nc, { memberTimeoutMs: 1500 });
      return st.streamLastSeq >= seq && st.shards.every((s) => s.appliedSeq !== undefined && s.lag === 0);
    },
    {
      timeoutMs: 60_000,
      intervalMs: 100,
      attemptTimeoutMs: STATUS_ATTEMPT_MS,
      message: `every shard applied to ${seq}`,
    },
  );
}

test.serial("log truncation - by max age while nodes run: killed, restarted with empty data dirs, exact", async (t) => {
  // 8 s: long enough that the restarted nodes restore before the log's tail (the events
  // after the last checkpoints) ages out, short enough for a test.
  await truncateKillRestart(t, { logMaxAgeMs: 8000 }, 1000);
});

test.serial(
  "log truncation - by max bytes while nodes run: killed, restarted with empty data dirs, exact",
  async (t) => {
    await truncateKillRestart(t, { logMaxBytes: LOG_MAX_BYTES_FLOOR }, 3000);
  },
);
