/**
 * Tally's headline figures, each against a raw baseline measured in the same run (machines are
 * shared and noisy, so the ratios are what to compare across runs):
 *
 *   1. end-to-end ingest: acked publishes → visible to `minSeq` reads on every shard,
 *      vs. the same publishes counted by a bare ordered consumer;
 *   2. read latency on an idle node, vs. a bare NATS request-reply echo; and during the
 *      full-speed ingest of 1., vs. the echo asked in the same ticks;
 *   3. replay after restart with an empty data dir, vs. a bare consumer reading the stream;
 *   4. heap bytes per (counter, period, bucket) entry, vs. a plain Map<number, number>.
 *
 *   cd /work/main && npx tsx bench/ingest.ts [--events N] [--window W] [--keys K]
 *
 * Prints a table and writes every raw number to bench/results/ingest.json. See bench/README.md.
 * The phases are in bench/ingest/, what bench/cluster.ts shares with it in bench/lib/.
 */
import { loadavg } from "node:os";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { cleanTempDir, runBench } from "./lib/cleanup.js";
import { benchEnv } from "./lib/env.js";
import { keyPerShard } from "./lib/keys.js";
import { publishAll } from "./lib/publish.js";
import { writeResults } from "./lib/results.js";
import { startTallyServer } from "./lib/server.js";
import { log } from "./lib/time.js";
import { measureMemory, startEcho } from "./ingest/helpers.js";
import { measureIngest } from "./ingest/ingest-phase.js";
import { measureReads } from "./ingest/read-latency.js";
import { measureReplay } from "./ingest/replay-phase.js";
import { printDetails, printTable } from "./ingest/report.js";
import { NS, SHARDS, ingestParams, startNodeProcess, type IngestRun } from "./ingest/run.js";

const params = ingestParams();

async function main() {
  const env = benchEnv();
  const { events: N, window: WINDOW, keys: KEYS } = params;
  log(`N=${N} window=${WINDOW} keys=${KEYS} on ${env.cpus} cpus, ${env.node}, ${env.natsServer}`);

  // 4. Memory first: no server running yet, so it competes with nothing.
  log("memory: filling ShardCounts in a child process");
  const memory = await measureMemory();

  const { server, nc } = await startTallyServer(SHARDS, "tally-bench");
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const dataDir = await cleanTempDir("tally-bench-node-");
  const node = await startNodeProcess(server.url, dataDir.path);
  const keys = Array.from({ length: KEYS }, (_, k) => `k${k}`);
  const probeKeys = keyPerShard(NS, "k", KEYS, SHARDS);
  const run: IngestRun = { params, server, nc, js, jsm, keys, probeKeys, node, dataDir };

  // Warm the publishing path (JIT, buffers) so neither side gets it cold.
  await jsm.streams.add({ name: "WARM", subjects: ["warm.>"], storage: "file" } as Parameters<
    typeof jsm.streams.add
  >[0]);
  await publishAll(
    js,
    keys.map((k) => `warm.${k}`),
    params.warmupEvents,
    WINDOW,
  );
  await jsm.streams.delete("WARM");

  // The echo responder (baseline of 2.) also answers a slow probe during the raw ingest.
  const echo = await startEcho(server.url);
  const ingest = await measureIngest(run);
  const reads = await measureReads(run);
  await echo.stop();
  const replay = await measureReplay(run);

  const results = {
    env,
    params,
    ingest: ingest.results,
    reads: { ...reads, target: "tally p99 < 2 ms", met: reads.tally.p99 < 2 },
    readsDuringIngest: ingest.duringIngest,
    replay,
    memory: { ...memory, target: "tally bytes/entry <= 150", met: memory.tally.bytesPerEntry <= 150 },
    loadavgAtEnd: loadavg(),
  };
  const path = await writeResults("ingest", results);
  printTable(results);
  printDetails(results, path);
}

await runBench(main);
