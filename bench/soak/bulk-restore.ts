/**
 * Restore of the filled state: the node stops (SIGTERM: final snapshot and checkpoint), and
 * a new node on an empty data dir is timed from its spawn until every shard answers a read
 * with `minSeq` = the last event. Its peak RSS (`VmHWM`) is compared with the filled
 * node's RSS at rest.
 */
import { cleanTempDir } from "../lib/cleanup.js";
import { busyBetween, machineCpu, procCpuSec } from "../lib/cpu.js";
import { spawnNode } from "../lib/node-process.js";
import { log, sleep } from "../lib/time.js";
import type { Filled } from "./bulk-fill.js";
import { entriesOf, nodeStatus, procRss } from "./node-probe.js";
import { BULK, NODE_ARGS, TARGETS } from "./options.js";
import { checkSample, waitCaughtUp } from "./reads.js";
import type { SoakCluster } from "./setup.js";

export async function restorePhase(cluster: SoakCluster, f: Filled) {
  log("bulk: stopping the filled node (final checkpoint), then restoring on an empty data dir");
  const stopT0 = performance.now();
  const exit = await f.node.child.stop(60_000);
  const stopMs = performance.now() - stopT0;
  const dir = await cleanTempDir("tally-soak-restore-");
  const machine0 = machineCpu();
  const t0 = performance.now();
  const spawning = spawnNode(cluster.server.url, dir.path, { name: "restored node", nodeArgs: NODE_ARGS });
  const truth = (k: string) => f.truth[Number(k.slice(1))]!;
  const caughtUp = await waitCaughtUp(cluster.nc, BULK.ns, f.probeKeys, f.lastSeq, truth, 300_000);
  const node = await spawning;
  const ms = caughtUp.at - t0;
  const cpu = { nodeCpuSec: procCpuSec(node.child.pid), machineBusy: busyBetween(machine0, machineCpu()) };
  const peakAtReady = procRss(node.child.pid)?.peak ?? NaN;
  await sleep(3000);
  const after = procRss(node.child.pid);
  const status = await nodeStatus(node.httpPort);
  const sources: Record<string, number> = {};
  for (const s of status?.shards ?? []) sources[s.source] = (sources[s.source] ?? 0) + 1;
  log(`bulk: restored in ${(ms / 1000).toFixed(2)} s; checking ${BULK.exactSample} counters`);
  const exact = await checkSample(cluster.nc, BULK.ns, "c", f.truth, BULK.exactSample);
  await node.child.stop(60_000);
  const peak = after?.peak ?? peakAtReady;
  const peakRatio = peak / f.steadyRss;
  return {
    previousNodeExit: exit,
    previousNodeStopMs: stopMs,
    ms,
    readyMs: node.ready.at - t0,
    entries: status ? entriesOf(status) : null,
    sources,
    probesWrong: caughtUp.wrong,
    cpu,
    probesRetried: caughtUp.retried,
    nodeWarnings: { ...node.child.warnings },
    exact,
    peakRss: peak,
    peakRssAtAnswer: peakAtReady,
    rssAfter3s: after?.rss ?? null,
    steadyRssBefore: f.steadyRss,
    peakRatio,
    targets: {
      time: `spawn → every shard answers ≤ ${TARGETS.restoreMs} ms`,
      peak: `peak RSS ≤ ${TARGETS.restorePeakRatio} × the filled node's RSS at rest`,
    },
    met: {
      time: ms <= TARGETS.restoreMs && caughtUp.wrong === 0,
      peak: peakRatio <= TARGETS.restorePeakRatio,
    },
  };
}
