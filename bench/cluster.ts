/**
 * Tally's cluster figures (issue 3, item 10), with default node settings (heartbeat 1000 ms,
 * member timeout 5000 ms, lease TTL 5000 ms):
 *
 *   1. failover: kill -9 one of 3 node processes under a steady load of acked publishes; time
 *      until every shard it owned has a surviving owner AND answers a `minSeq = last ack` read;
 *   2. hand-off gap on join: 2 nodes under load, a 3rd starts; per moved shard, the longest
 *      single read (client retries included) of a reader hitting that shard all the time;
 *   3. shards moved on that join, against P/(N+1);
 *   4. restore: a fresh node on an empty data dir, from the shared checkpoints, vs. a bare
 *      ordered consumer reading the whole stream and vs. a pure replay (no checkpoints).
 *
 *   cd /work/main && npx tsx bench/cluster.ts [--events N] [--rate R] [--probe-pause MS]
 *
 * Prints a table and writes every raw number to bench/results/cluster.json. See bench/README.md.
 * The phases are in bench/cluster/, what bench/ingest.ts shares with it in bench/lib/.
 */
import { loadavg } from "node:os";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { tallyClient } from "@tally/client";
import { CHECKPOINTS_BUCKET } from "@tally/node";
import { waitFor } from "@tally/testing";
import { cleanTempDir, cleanupAll, resetCleanup, runBench } from "./lib/cleanup.js";
import { benchEnv, gitState } from "./lib/env.js";
import { keyPerShard } from "./lib/keys.js";
import { writeResults } from "./lib/results.js";
import { startTallyServer } from "./lib/server.js";
import { log, nowMs } from "./lib/time.js";
import { waitBalanced } from "./cluster/cluster-status.js";
import { measureFailover } from "./cluster/failover.js";
import { measureJoin } from "./cluster/join.js";
import { spawnClusterNode } from "./cluster/nodes.js";
import { KEYS, LOAD_KEYS, LOAD_NS, N, PROBE_PAUSE_MS, RATE, SHARDS } from "./cluster/options.js";
import { printDetails, printTable } from "./cluster/report.js";
import { restorePhase } from "./cluster/restore.js";
import { SteadyLoad, checkLoadExact } from "./cluster/steady-load.js";

/** Phases 1-3: join and failover of node processes under a steady load, then every counter checked. */
async function clusterPhase() {
  const { server, nc } = await startTallyServer(SHARDS, "tally-bench-cluster");
  const js = jetstream(nc);
  const probeKeys = keyPerShard(LOAD_NS, "k", LOAD_KEYS, SHARDS);
  const dirs = await Promise.all(["n1", "n2", "n3"].map((id) => cleanTempDir(`tally-bench-${id}-`)));

  log("cluster: starting n1 and n2");
  const n1 = await spawnClusterNode(server.url, dirs[0]!.path, "n1");
  const n2 = await spawnClusterNode(server.url, dirs[1]!.path, "n2");
  await waitBalanced(nc, ["n1", "n2"]);

  const jsm = await jetstreamManager(nc);
  const cpSeqAtLoadStart = (await jsm.streams.info(`OBJ_${CHECKPOINTS_BUCKET}`)).state.last_seq;
  const load = new SteadyLoad(js, probeKeys).start();
  await waitFor(() => load.acked >= RATE, { timeoutMs: 30_000, message: "load running" });

  const client = tallyClient(nc); // default retry deadline (15 s), as an application would use it
  const { join, n3, after } = await measureJoin(nc, server.url, dirs[2]!.path, client, probeKeys, [n1, n2]);
  const failover = await measureFailover(nc, jsm, cpSeqAtLoadStart, after, [n1, n2, n3], client, probeKeys, load);
  const survivors = [n2, n3];

  log("cluster: stopping the load, checking every counter");
  await load.stop();
  const exact = await checkLoadExact(nc, load);

  const warnings = Object.fromEntries([n1, n2, n3].map((n) => [n.child.name, { ...n.child.warnings }]));
  for (const s of survivors) await s.child.stop(30_000);
  return { join, failover, load: { rate: RATE, keys: LOAD_KEYS, ...exact }, nodeWarnings: warnings };
}

async function main() {
  const startedAt = nowMs();
  // The node code measured: the commit, and whether packages/ had uncommitted edits.
  const env = { ...benchEnv(), ...gitState() };
  const params = {
    shards: SHARDS,
    events: N,
    keys: KEYS,
    loadRate: RATE,
    loadKeys: LOAD_KEYS,
    probePauseMs: PROBE_PAUSE_MS,
    nodeSettings: "defaults: heartbeat 1000 ms, member timeout 5000 ms, lease TTL 5000 ms, checkpoint 5000 ms",
  };
  log(`P=${SHARDS} N=${N} load ${RATE}/s on ${env.cpus} cpus, ${env.node}, ${env.natsServer}`);

  const cluster = await clusterPhase();
  await cleanupAll();
  resetCleanup();
  const restore = await restorePhase();

  const results = {
    env,
    params,
    failover: cluster.failover,
    join: cluster.join,
    load: cluster.load,
    restore,
    nodeWarnings: cluster.nodeWarnings,
    met:
      cluster.failover.met &&
      cluster.join.handoffGap.met &&
      cluster.join.moves.met &&
      cluster.load.exact &&
      restore.met,
    runMs: nowMs() - startedAt,
    loadavgAtEnd: loadavg(),
  };
  const path = await writeResults("cluster", results);
  printTable(results);
  printDetails(results, path);
}

await runBench(main);
// Nothing of the run may keep the process alive (a failed phase can leave a client retrying).
process.exit();
