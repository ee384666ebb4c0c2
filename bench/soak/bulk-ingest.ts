/**
 * The filled node under full-speed ingest: acked publishes as fast as the server takes them
 * (events at the newest buckets, so the state keeps its size), while a reader in a process of
 * its own sends `count.get` requests; the node's event-loop delay over exactly that window
 * (two `/metrics` scrapes), its lost leases and lapse log lines.
 */
import { cpuDelta, cpuMark } from "../lib/cpu.js";
import { publishAll } from "../lib/publish.js";
import { log } from "../lib/time.js";
import { startLatencyProbe } from "../ingest/helpers.js";
import type { Filled } from "./bulk-fill.js";
import { checkpointFigures, entriesOf, eventLoopWindow, leaseLapseLines, nodeStatus, scrape } from "./node-probe.js";
import { BULK, TARGETS, WINDOW } from "./options.js";
import { waitCaughtUp } from "./reads.js";
import type { SoakCluster } from "./setup.js";

/** Runs `BULK.ingestEvents` events round-robin over the counters, from counter 0. */
export async function ingestPhase(cluster: SoakCluster, f: Filled) {
  const n = BULK.ingestEvents;
  const K = f.shape.counters;
  const body = f.shape.bodies[0]!;
  log(`bulk: full-speed ingest of ${n} events with background reads`);
  const lapsesBefore = leaseLapseLines(f.node.child.warnings);
  const probe = await startLatencyProbe(cluster.server.url, `count.get.${BULK.ns}.c`, K);
  const m0 = await scrape(f.node.httpPort); // starts the event-loop window
  const pids = () => ({ node: f.node.child.pid, natsServer: cluster.server.pid });
  const cpu0 = cpuMark(pids());
  const t0 = performance.now();
  const pub = await publishAll(cluster.js, f.subjects, n, WINDOW, () => body);
  for (let c = 0; c < K; c++) f.truth[c]! += Math.floor(n / K) + (c < n % K ? 1 : 0);
  f.lastSeq = Math.max(f.lastSeq, pub.lastSeq);
  const caughtUp = await waitCaughtUp(
    cluster.nc,
    BULK.ns,
    f.probeKeys,
    pub.lastSeq,
    (k) => f.truth[Number(k.slice(1))]!,
  );
  const ms = caughtUp.at - t0;
  const cpu = cpuDelta(cpu0, cpuMark(pids()));
  const m1 = await scrape(f.node.httpPort);
  const reads = await probe.stop();
  const status = await nodeStatus(f.node.httpPort);
  const eventLoop = eventLoopWindow(m1);
  const leasesLost = checkpointFigures(m1).leasesLost;
  const lapseLines = leaseLapseLines(f.node.child.warnings);
  return {
    events: n,
    ms,
    eventsPerSec: n / (ms / 1000),
    publishMs: Number(pub.doneAt - pub.startedAt) / 1e6,
    entries: status ? entriesOf(status) : null,
    caughtUpWrong: caughtUp.wrong,
    caughtUpRetried: caughtUp.retried,
    cpu,
    nodeWarnings: { ...f.node.child.warnings },
    eventLoopMs: eventLoop,
    reads,
    leases: {
      lostDuringIngest: leasesLost - checkpointFigures(m0).leasesLost,
      lostSinceStart: leasesLost,
      lapseLinesDuringIngest: lapseLines - lapsesBefore,
      lapseLinesSinceStart: lapseLines,
    },
    targets: {
      leases: "tally_leases_lost_total stays 0 and no lease-lapse log line, from the node's start",
      eventLoop: `event-loop delay p99 ≤ ${TARGETS.eventLoopP99Ms} ms over the ingest`,
      reads: `background read p99 ≤ ${TARGETS.readP99Ms} ms`,
    },
    met: {
      leases: leasesLost === 0 && lapseLines === 0,
      eventLoop: eventLoop.p99 <= TARGETS.eventLoopP99Ms,
      reads: reads.p99 <= TARGETS.readP99Ms && reads.errors === 0,
    },
  };
}
