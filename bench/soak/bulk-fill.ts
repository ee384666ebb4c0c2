/**
 * The bulk phase's fill: a node with no state is measured (the RSS baseline), then filled to
 * millions of entries by acked publishes as fast as the server takes them. While it fills,
 * its entries and the checkpoint bytes written are sampled, so the bytes written to reach
 * N, 2N and 4N entries can be compared. Once quiet, its RSS per entry is measured.
 */
import { cleanTempDir } from "../lib/cleanup.js";
import { cpuDelta, cpuMark } from "../lib/cpu.js";
import { keyPerShard } from "../lib/keys.js";
import { spawnNode, type NodeProcess } from "../lib/node-process.js";
import { publishAll } from "../lib/publish.js";
import { log, sleep } from "../lib/time.js";
import { ObjectStoreWrites, fullStateSize } from "./checkpoint-store.js";
import { fillShape, type FillShape } from "./fill-shape.js";
import { checkpointFigures, entriesOf, nodeStatus, procRss, scrape } from "./node-probe.js";
import { BULK, NODE_ARGS, SHARDS, TARGETS, WINDOW } from "./options.js";
import { waitCaughtUp } from "./reads.js";
import { Sampler, spread } from "./sampler.js";
import type { SoakCluster } from "./setup.js";

/** One sample while filling: entries, and checkpoint bytes by the metric and by the object store. */
interface FillSample {
  ms: number;
  entries: number;
  metricBytes: number;
  storeBytes: number;
  rss: number;
}

/** The filled node and what the later steps need. */
export interface Filled {
  node: NodeProcess;
  shape: FillShape;
  subjects: string[];
  probeKeys: string[];
  /** Acked events per counter so far (the ground truth). */
  truth: Uint32Array;
  lastSeq: number;
  store: ObjectStoreWrites;
  /** RSS of the filled node at rest. */
  steadyRss: number;
}

/** The quiet node's RSS: the median of `n` samples `everyMs` apart. */
async function restingRss(pid: number | undefined, n = 7, everyMs = 400): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    xs.push(procRss(pid)?.rss ?? NaN);
    await sleep(everyMs);
  }
  return spread(xs).median;
}

/** Spawns the node, measures it empty, fills it and measures it full. */
export async function fillPhase(cluster: SoakCluster) {
  const { nc, js, server } = cluster;
  const dir = await cleanTempDir("tally-soak-bulk-");
  const node = await spawnNode(server.url, dir.path, {
    name: "bulk node",
    nodeArgs: NODE_ARGS,
    args: ["--checkpoint-interval", String(BULK.checkpointIntervalMs)],
  });
  const pid = node.child.pid;
  await sleep(2000);
  const emptyRss = await restingRss(pid);
  const emptyHeap = checkpointFigures(await scrape(node.httpPort)).heapUsed;

  const shape = fillShape(BULK.entries, BULK.eventsPerCounter, BULK.spacingHours, Date.now());
  const subjects = Array.from({ length: shape.counters }, (_, i) => `count.${BULK.ns}.c${i}`);
  log(`bulk: filling ${shape.entries} entries: ${shape.counters} counters × ${shape.eventsPerCounter} events`);
  const store = new ObjectStoreWrites(nc);
  const t0 = performance.now();
  const sampler = new Sampler<FillSample>(500, async () => {
    const [status, m] = await Promise.all([nodeStatus(node.httpPort), scrape(node.httpPort)]);
    if (!status) return undefined;
    const ms = performance.now() - t0;
    const entries = entriesOf(status);
    return {
      ms,
      entries,
      metricBytes: checkpointFigures(m).totalBytes,
      storeBytes: store.bytes,
      rss: procRss(pid)?.rss ?? NaN,
    };
  });
  const K = shape.counters;
  const pids = () => ({ node: pid, natsServer: server.pid });
  const cpu0 = cpuMark(pids());
  const pub = await publishAll(js, subjects, shape.events, WINDOW, (i) => shape.bodies[Math.floor(i / K)]!);
  const probeKeys = keyPerShard(BULK.ns, "c", K, SHARDS);
  const caughtUp = await waitCaughtUp(nc, BULK.ns, probeKeys, pub.lastSeq, () => shape.eventsPerCounter, 600_000);
  const fillMs = caughtUp.at - t0;
  const cpu = cpuDelta(cpu0, cpuMark(pids()));
  log(`bulk: filled in ${(fillMs / 1000).toFixed(1)} s; waiting for the checkpoints to settle`);
  await quietCheckpoints(node.httpPort, BULK.checkpointIntervalMs);
  const samples = await sampler.stop();

  const status = (await nodeStatus(node.httpPort))!;
  const entries = entriesOf(status);
  const steadyRss = await restingRss(pid);
  const fullHeap = checkpointFigures(await scrape(node.httpPort)).heapUsed;
  const full = await fullStateSize(nc, SHARDS, entries);
  const perEntry = (steadyRss - emptyRss) / entries;
  const truth = new Uint32Array(K).fill(shape.eventsPerCounter);
  const filled: Filled = { node, shape, subjects, probeKeys, truth, lastSeq: pub.lastSeq, store, steadyRss };
  return {
    filled,
    full,
    results: {
      shape: { ...shape, bodies: undefined },
      entries,
      fillMs,
      eventsPerSec: shape.events / (fillMs / 1000),
      caughtUpWrong: caughtUp.wrong,
      caughtUpRetried: caughtUp.retried,
      cpu,
      nodeWarnings: { ...node.child.warnings },
      memory: {
        emptyRss,
        steadyRss,
        entries,
        bytesPerEntry: perEntry,
        heapBytesPerEntry: (fullHeap - emptyHeap) / entries,
        target: `(RSS − RSS of the same node with no state) / entries ≤ ${TARGETS.bytesPerEntry} B`,
        met: perEntry <= TARGETS.bytesPerEntry,
      },
      linear: linearFigures(samples, shape.entries),
      fullState: full ?? null,
      samples,
    },
  };
}

/** Waits until the checkpoint bytes metric stays put over 1.5 checkpoint intervals (at most 60 s). */
async function quietCheckpoints(port: number, intervalMs: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = checkpointFigures(await scrape(port)).totalBytes;
  while (Date.now() < deadline) {
    await sleep(intervalMs * 1.5);
    const now = checkpointFigures(await scrape(port)).totalBytes;
    if (now === last) return;
    last = now;
  }
}

/**
 * Checkpoint bytes written by the time the node held N, 2N and 4N entries (4N = the
 * fill's size), by the metric and by the object store, each divided by its entries: a
 * checkpoint that costs what changed keeps bytes/N flat, one that rewrites the whole
 * state every interval doubles it with every doubling of N.
 */
function linearFigures(samples: FillSample[], total: number) {
  const at = (m: number) => {
    const i = samples.findIndex((s) => s.entries >= m);
    if (i < 0) return undefined;
    const b = samples[i]!;
    const a = samples[i - 1] ?? b;
    const f = b.entries === a.entries ? 1 : (m - a.entries) / (b.entries - a.entries);
    const lerp = (x: number, y: number) => x + f * (y - x);
    return {
      entries: m,
      ms: lerp(a.ms, b.ms),
      metricBytes: lerp(a.metricBytes, b.metricBytes),
      storeBytes: lerp(a.storeBytes, b.storeBytes),
    };
  };
  const points = [total / 4, total / 2, total * 0.999].map((m) => at(Math.floor(m)));
  if (points.some((p) => p === undefined))
    return { notMeasured: "not measured: the fill's samples never reached every milestone", met: null };
  const rows = points.map((p) => ({
    ...p!,
    metricBytesPerEntry: p!.metricBytes / p!.entries,
    storeBytesPerEntry: p!.storeBytes / p!.entries,
  }));
  const ratio = rows[2]!.metricBytesPerEntry / rows[0]!.metricBytesPerEntry;
  const storeRatio = rows[2]!.storeBytesPerEntry / rows[0]!.storeBytesPerEntry;
  const measured = rows[2]!.metricBytes > 0;
  return {
    points: rows,
    ratio4NtoN: measured ? ratio : storeRatio,
    storeRatio4NtoN: storeRatio,
    source: measured ? "metric" : "object store (the metric stayed 0)",
    target: `bytes/N at 4N ≤ ${TARGETS.linearRatio} × bytes/N at N (linear ≈ 1; N² ≈ 4)`,
    met: (measured ? ratio : storeRatio) <= TARGETS.linearRatio,
  };
}
