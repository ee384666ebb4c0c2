/**
 * Namespace-wide reads (issue 9): what `count.top` and `count.list` cost on N nodes (default 3)
 * sharing the 64 shards of one namespace of C counters (default 1M), against two baselines in
 * the same run: a point read (`count.get`) and a bare NATS request-reply echo. Decomposed so the
 * table shows where the time goes: one shard's part alone, the 64-way gather alone (top of an
 * empty namespace), the whole request, and the scans alone (in this process, no NATS). The
 * target: top day 10 over 1M counters on 3 nodes, idle, p99 < 20 ms.
 *
 *   cd /work/main && npx tsx bench/namespace.ts [--nodes 3] [--counters 1000000] [--rounds 2] [--reads 200]
 *
 * Rounds alternate idle / under a steady publish load. Prints a table and writes every raw
 * number to bench/results/namespace.json (other configurations: namespace-<C>c-<N>n.json).
 * See bench/README.md.
 */
import { loadavg } from "node:os";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { EVENTS_STREAM } from "@tally/node";
import { runBench } from "./lib/cleanup.js";
import { benchEnv, gitState } from "./lib/env.js";
import { writeResults } from "./lib/results.js";
import { startTallyServer } from "./lib/server.js";
import { log, nowMs, sleep } from "./lib/time.js";
import type { Rss } from "./soak/node-probe.js";
import { startEcho } from "./ingest/helpers.js";
import { DAY_MS, GroundTruth } from "./namespace/dataset.js";
import type { LoopDelay } from "./namespace/event-loop.js";
import { fill, waitCounted } from "./namespace/fill.js";
import { startLoad, type LoadStats } from "./namespace/load.js";
import { cpuPerRequest, latencyRound, waitNodesQuiet, type RoundStats } from "./namespace/measure.js";
import { loopDelays, pidsOf, rssOf, startNodes, warningsOf, worstDelay } from "./namespace/nodes.js";
import * as o from "./namespace/options.js";
import { printTable, summarize } from "./namespace/report.js";
import { readKinds } from "./namespace/requests.js";
import { measureScanCost } from "./namespace/scan-cost.js";

/** One measured round. */
export interface Round {
  config: "idle" | "load";
  round: number;
  loadavgAtStart: number[];
  /** How long the round waited for the nodes to settle first, and whether they did. */
  settle: { waitedMs: number; settled: boolean };
  latency: Record<string, RoundStats>;
  load?: LoadStats;
  /** Each node's event-loop delay during the round (ms), by node id. */
  nodeLoopDelay: Record<string, LoopDelay>;
  /** Each node's resident memory at the end of the round (bytes, now and peak), by node id. */
  nodeRss: Record<string, Rss | undefined>;
  /** Each node's warnings so far (counted by message), at the end of the round, by node id. */
  nodeWarningsSoFar: Record<string, Record<string, number>>;
}

async function main() {
  const startedAt = nowMs();
  const env = { ...benchEnv(), ...gitState() };
  const params = {
    nodes: o.NODES,
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
    nodeSettings: `defaults, --min-members ${o.NODES}`,
  };
  log(
    `${o.COUNTERS} counters in ${o.NS} on ${o.NODES} node(s), ${o.ROUNDS} round(s); ` +
      `load average ${env.loadavgAtStart.join(" ")}`,
  );

  const now = Date.now();
  const dayIndex = Math.floor(now / DAY_MS) - 1; // yesterday: a whole day bucket
  const truth = new GroundTruth(o.COUNTERS, o.EVENTS_PER_COUNTER, now, dayIndex);
  log(`ground truth computed: ${truth.inDay} counters in the day bucket read`);

  log("scan cost: the same counters in 64 ShardCounts in this process");
  const scan = measureScanCost(now, truth);
  const benchRssAfterScan = process.memoryUsage().rss;

  const { server, nc } = await startTallyServer(o.SHARDS, "tally-bench-namespace");
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const { nodes, readyMs } = await startNodes(nc, server.url);
  const echo = await startEcho(server.url);
  const filled = {
    nodesReadyMs: readyMs,
    ...(await fill(nc, js, now)),
    nodeLoopDelay: await loopDelays(nodes),
    nodeRss: rssOf(nodes),
    nodeWarnings: warningsOf(nodes),
  };
  log(`fill: ${filled.events} events counted in ${(filled.appliedMs / 1000).toFixed(1)} s`);

  const kinds = readKinds(truth);
  const nodePids = pidsOf(nodes);
  const rounds: Round[] = [];
  const cpu: ({ round: number } & Awaited<ReturnType<typeof cpuPerRequest>>)[] = [];
  // Below this share of a core a node is done with its snapshot and checkpoint of a burst.
  const quiet = () => waitNodesQuiet(nodePids, 0.15, 90_000);
  const mb = (r: Rss | undefined) => (r === undefined ? "?" : (r.rss / 2 ** 20).toFixed(0));
  const measured = async (run: () => Promise<Record<string, RoundStats>>) => {
    await loopDelays(nodes); // starts the window
    const latency = await run();
    return {
      latency,
      nodeLoopDelay: await loopDelays(nodes),
      nodeRss: rssOf(nodes),
      nodeWarningsSoFar: warningsOf(nodes),
    };
  };
  const progress = (r: Round) => {
    const l = (id: string) => `${id} ${r.latency[id]!.p50.toFixed(1)}/${r.latency[id]!.p99.toFixed(1)}`;
    log(`  p50/p99 ms: ${["echo", "get", "gather", "top10", "top1000", "listFirst"].map(l).join(", ")}`);
    const worst = worstDelay(r.nodeLoopDelay);
    log(`  worst node event-loop delay p99/max ms: ${worst.p99?.toFixed(0)}/${worst.max?.toFixed(0)}`);
    log(`  node RSS MB: ${nodes.map((n) => `${n.id} ${mb(r.nodeRss[n.id])}`).join(", ")}`);
    log(`  node warnings so far: ${JSON.stringify(r.nodeWarningsSoFar)}`);
  };
  for (let r = 1; r <= o.ROUNDS; r++) {
    log(`round ${r}: waiting for the nodes to settle`);
    const settle = await quiet();
    log(`round ${r}: idle (settled: ${settle.settled} after ${(settle.waitedMs / 1000).toFixed(1)} s)`);
    const loadavgAtStart = loadavg();
    const idle: Round = {
      config: "idle",
      round: r,
      loadavgAtStart,
      settle,
      ...(await measured(() => latencyRound(nc, kinds))),
    };
    rounds.push(idle);
    progress(idle);
    log(`round ${r}: node CPU per request`);
    const costly = kinds.filter((k) => k.id !== "echo");
    cpu.push({ round: r, ...(await cpuPerRequest(nc, costly, nodePids, server.pid)) });

    log(`round ${r}: under a steady load of ${o.RATE} publishes/s`);
    const load = await startLoad(server.url);
    await sleep(2000); // let the load reach its rate
    const loadRound: Omit<Round, "load"> = {
      config: "load",
      round: r,
      loadavgAtStart: loadavg(),
      settle: { waitedMs: 2000, settled: true },
      ...(await measured(() => latencyRound(nc, kinds))),
    };
    rounds.push({ ...loadRound, load: await load.stop() });
    progress(rounds[rounds.length - 1]!);
    await save(false);
    // The next idle round starts once the nodes have counted the whole load.
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
        what: `top day 10 over ${o.COUNTERS} counters on ${o.NODES} node(s), idle: p99 < ${o.TARGET_TOP10_P99_MS} ms in every round`,
        thresholdMs: o.TARGET_TOP10_P99_MS,
        p99PerRound: top10.idle.p99,
        worstP99,
        met: top10.idle.p99.length > 0 && worstP99 < o.TARGET_TOP10_P99_MS,
      },
      fill: filled,
      summary,
      scanCost: scan.costs,
      scanPasses: scan.passes,
      benchRssAfterScanBytes: benchRssAfterScan,
      cpu,
      rounds,
      nodeWarnings: warningsOf(nodes),
      loadavgAtEnd: loadavg(),
      minutes: (nowMs() - startedAt) / 60_000,
    };
  }

  async function save(complete: boolean): Promise<string> {
    const name = o.IS_TARGET_CONFIG ? "namespace" : `namespace-${o.COUNTERS}c-${o.NODES}n`;
    return writeResults(name, await buildResults(complete));
  }
}

await runBench(main);
