/**
 * Namespace-wide reads (issue 9): what `count.top` and `count.list` cost on one node holding
 * N counters in one namespace, against two baselines in the same run: a point read
 * (`count.get`) and a bare NATS request-reply echo. Decomposed so the table shows where the
 * time goes: one shard's part alone, the 64-way gather alone (top of an empty namespace), the
 * whole request, and the scans alone (in this process, no NATS).
 *
 *   cd /work/main && npx tsx bench/namespace.ts [--counters 100000] [--rounds 2] [--reads 400] [--rate 2000]
 *
 * Rounds alternate idle / under a steady publish load. Prints a table and writes every raw
 * number to bench/results/namespace.json. See bench/README.md.
 */
import { loadavg } from "node:os";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { EVENTS_STREAM } from "@tally/node";
import { cleanTempDir, runBench } from "./lib/cleanup.js";
import { benchEnv, gitState } from "./lib/env.js";
import { spawnNode } from "./lib/node-process.js";
import { writeResults } from "./lib/results.js";
import { startTallyServer } from "./lib/server.js";
import { log, nowMs, sleep } from "./lib/time.js";
import { startEcho } from "./ingest/helpers.js";
import { DAY_MS, GroundTruth } from "./namespace/dataset.js";
import { fill, waitCounted } from "./namespace/fill.js";
import { scrapeLoopDelay, type LoopDelay } from "./namespace/event-loop.js";
import { startLoad, type LoadStats } from "./namespace/load.js";
import { cpuPerRequest, latencyRound, waitNodeQuiet, type RoundStats } from "./namespace/measure.js";
import * as o from "./namespace/options.js";
import { printTable, summarize } from "./namespace/report.js";
import { readKinds } from "./namespace/requests.js";
import { measureScanCost } from "./namespace/scan-cost.js";

/** One measured round. */
export interface Round {
  config: "idle" | "load";
  round: number;
  loadavgAtStart: number[];
  /** How long the round waited for the node to settle first, and whether it did. */
  settle: { waitedMs: number; settled: boolean };
  latency: Record<string, RoundStats>;
  load?: LoadStats;
  /** The node's event-loop delay during the round (ms). */
  nodeLoopDelay: LoopDelay;
  /** The node's warnings so far (counted by message), at the end of the round. */
  nodeWarningsSoFar: Record<string, number>;
}

async function main() {
  const startedAt = nowMs();
  const env = { ...benchEnv(), ...gitState() };
  const params = {
    shards: o.SHARDS,
    counters: o.COUNTERS,
    eventsPerCounter: o.EVENTS_PER_COUNTER,
    otherCounters: o.OTHER_COUNTERS,
    spreadDays: o.SPREAD_DAYS,
    reads: o.READS,
    warmup: o.WARMUP,
    rounds: o.ROUNDS,
    loadRate: o.RATE,
    cpuReads: o.CPU_READS,
    roundMaxS: o.ROUND_MAX_S,
    pauseMs: o.PAUSE_MS,
    periods: "defaults (all, hour, day, week, month)",
  };
  log(`${o.COUNTERS} counters in ${o.NS}, ${o.ROUNDS} rounds; load average ${env.loadavgAtStart.join(" ")}`);

  const now = Date.now();
  const dayIndex = Math.floor(now / DAY_MS) - 1; // yesterday: a whole day bucket
  const truth = new GroundTruth(o.COUNTERS, o.EVENTS_PER_COUNTER, now, dayIndex);

  log("scan cost: the same counters in 64 ShardCounts in this process");
  const scan = measureScanCost(now, truth);

  const { server, nc } = await startTallyServer(o.SHARDS, "tally-bench-namespace");
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const dataDir = await cleanTempDir("tally-bench-ns-node-");
  const node = await spawnNode(server.url, dataDir.path, { args: ["--log-level", "info"] });
  const echo = await startEcho(server.url);
  const filled = {
    ...(await fill(nc, js, now)),
    nodeLoopDelay: await scrapeLoopDelay(node.httpPort),
    nodeWarnings: { ...node.child.warnings },
  };
  log(`fill: ${filled.events} events counted in ${(filled.appliedMs / 1000).toFixed(1)} s`);

  const kinds = readKinds(truth);
  const pids = { node: node.child.pid, natsServer: server.pid };
  const rounds: Round[] = [];
  const cpu: ({ round: number } & Awaited<ReturnType<typeof cpuPerRequest>>)[] = [];
  // Below this share of a core the node is done with its snapshot and checkpoint of a burst.
  const quiet = () => waitNodeQuiet(pids.node, 0.15, 90_000);
  const progress = (latency: Record<string, RoundStats>, loop: LoopDelay) => {
    const l = (id: string) => `${id} ${latency[id]!.p50.toFixed(1)}/${latency[id]!.p99.toFixed(1)}`;
    log(`  p50/p99 ms: ${["echo", "get", "gather", "top10", "top1000", "listFirst"].map(l).join(", ")}`);
    log(`  node event-loop delay p99/max ms: ${loop.p99?.toFixed(0)}/${loop.max?.toFixed(0)}`);
    log(`  node warnings so far: ${JSON.stringify(node.child.warnings)}`);
  };
  for (let r = 1; r <= o.ROUNDS; r++) {
    log(`round ${r}: waiting for the node to settle`);
    const settle = await quiet();
    log(`round ${r}: idle (settled: ${settle.settled} after ${(settle.waitedMs / 1000).toFixed(1)} s)`);
    const idleAvg = loadavg();
    await scrapeLoopDelay(node.httpPort); // starts the window
    const idleLatency = await latencyRound(nc, kinds);
    const idleLoop = await scrapeLoopDelay(node.httpPort);
    const idleRound = { config: "idle", round: r, loadavgAtStart: idleAvg, settle, latency: idleLatency } as const;
    rounds.push({ ...idleRound, nodeLoopDelay: idleLoop, nodeWarningsSoFar: { ...node.child.warnings } });
    progress(idleRound.latency, idleLoop);
    log(`round ${r}: node CPU per request`);
    cpu.push({
      round: r,
      ...(await cpuPerRequest(
        nc,
        kinds.filter((k) => k.id !== "echo"),
        pids,
      )),
    });

    log(`round ${r}: under a steady load of ${o.RATE} publishes/s`);
    const load = await startLoad(server.url);
    await sleep(2000); // let the load reach its rate
    const loadSettle = { waitedMs: 2000, settled: true };
    const loadavgAtStart = loadavg();
    await scrapeLoopDelay(node.httpPort);
    const latency = await latencyRound(nc, kinds);
    const loadLoop = await scrapeLoopDelay(node.httpPort);
    const stats = await load.stop();
    const loadRound = { config: "load", round: r, loadavgAtStart, settle: loadSettle, latency, load: stats } as const;
    rounds.push({ ...loadRound, nodeLoopDelay: loadLoop, nodeWarningsSoFar: { ...node.child.warnings } });
    progress(loadRound.latency, loadLoop);
    await save(false);
    // The next idle round starts once the node has counted the whole load.
    await waitCounted(nc, (await jsm.streams.info(EVENTS_STREAM)).state.last_seq, 120_000);
  }
  await echo.stop();
  const path = await save(true);
  printTable(await buildResults(true));
  console.log(`\nresults: ${path}`);

  /** The results so far; written after every round, so a run cut short keeps what it measured. */
  async function buildResults(complete: boolean) {
    const summary = summarize(kinds, rounds, cpu, scan.costs);
    const top10 = summary.find((s) => s.id === "top10")!;
    const worstP99 = Math.max(...top10.idle.p99);
    return {
      complete,
      env,
      params,
      dataset: {
        counters: o.COUNTERS,
        dayBucket: new Date(dayIndex * DAY_MS).toISOString(),
        countersInDayBucket: truth.inDay,
        countersPerShard: { min: Math.min(...scan.counters), max: Math.max(...scan.counters) },
      },
      target: {
        what: `top day limit 10 over ${o.COUNTERS} counters, idle node: p99 <= ${o.TARGET_TOP10_P99_MS} ms in every round`,
        worstP99,
        met: worstP99 <= o.TARGET_TOP10_P99_MS,
      },
      fill: filled,
      summary,
      scanCost: scan.costs,
      cpu,
      rounds,
      nodeWarnings: { ...node.child.warnings },
      loadavgAtEnd: loadavg(),
      minutes: (nowMs() - startedAt) / 60_000,
    };
  }

  async function save(complete: boolean): Promise<string> {
    return writeResults(o.COUNTERS === 100_000 ? "namespace" : `namespace-${o.COUNTERS}`, await buildResults(complete));
  }
}

await runBench(main);
