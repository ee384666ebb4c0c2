/**
 * Checkpoint bytes per interval against the entries changed: on the filled node, a paced
 * load changes 1 % of the entries per checkpoint interval (events at the newest buckets of
 * distinct counters: each changes all-time and one bucket per period), and the checkpoint
 * bytes written over several intervals are compared with what one base of the state costs.
 */
import { log, sleep } from "../lib/time.js";
import type { Filled } from "./bulk-fill.js";
import type { FullStateSize } from "./checkpoint-store.js";
import { checkpointFigures, scrape } from "./node-probe.js";
import { BULK, TARGETS, WINDOW } from "./options.js";
import { PacedLoad } from "./paced-load.js";
import type { SoakCluster } from "./setup.js";

/** Runs the 1 % load for a warm-up interval plus `deltaIntervals` measured ones. */
export async function deltaPhase(cluster: SoakCluster, f: Filled, entries: number, full: FullStateSize | undefined) {
  const interval = BULK.checkpointIntervalMs;
  const eventsPerInterval = Math.ceil((BULK.changedShare * entries) / f.shape.entriesPerEvent);
  const changedPerInterval = eventsPerInterval * f.shape.entriesPerEvent;
  log(`bulk: changing ${changedPerInterval} entries (${eventsPerInterval} events) per ${interval} ms interval`);
  const load = new PacedLoad(cluster.js, {
    subjects: f.subjects,
    rate: (eventsPerInterval * 1000) / interval,
    window: WINDOW,
    ts: () => f.shape.endTs,
  }).start();
  await sleep(interval); // the first interval: the load gets going
  const m0 = checkpointFigures(await scrape(f.node.httpPort));
  const s0 = f.store.bytes;
  const t0 = performance.now();
  await sleep(interval * BULK.deltaIntervals);
  const m1 = checkpointFigures(await scrape(f.node.httpPort));
  const s1 = f.store.bytes;
  const intervals = (performance.now() - t0) / interval;
  await load.stop();
  for (let i = 0; i < f.truth.length; i++) f.truth[i]! += load.acked[i]!;
  f.lastSeq = Math.max(f.lastSeq, load.lastSeq);

  const per = (a: number, b: number) => (b - a) / intervals;
  const deltaBytes = per(m0.deltaBytes, m1.deltaBytes);
  const baseBytes = per(m0.baseBytes, m1.baseBytes);
  const compactionBytes = per(m0.compactionBytes, m1.compactionBytes);
  const allBytes = per(m0.totalBytes, m1.totalBytes);
  const storeBytes = per(s0, s1);
  const fullBytes = full?.bytes;
  const metricSeen = m1.totalBytes > 0;
  const why =
    fullBytes === undefined
      ? "not measured: no checkpoint found to size the full state"
      : !metricSeen
        ? "not measured: tally_checkpoint_bytes_written_total stayed 0 (checkpoint bytes not counted by this build)"
        : undefined;
  // Everything written counts: deltas, and bases and compactions that fell in the window.
  const share = fullBytes ? allBytes / fullBytes : NaN;
  return {
    eventsPerInterval,
    changedEntriesPerInterval: changedPerInterval,
    changedShare: changedPerInterval / entries,
    intervals,
    publishErrors: load.errors,
    perInterval: { deltaBytes, baseBytes, compactionBytes, allBytes, objectStoreBytes: storeBytes },
    fullStateBytes: fullBytes ?? null,
    allShare: share,
    deltaShare: fullBytes ? deltaBytes / fullBytes : NaN,
    objectStoreShare: fullBytes ? storeBytes / fullBytes : NaN,
    bytesPerChangedEntry: deltaBytes / changedPerInterval,
    target: `bytes written per interval (deltas, bases, compactions) ≤ ${TARGETS.deltaShare * 100} % of a base of the full state`,
    met: why ? null : share <= TARGETS.deltaShare,
    ...(why ? { notMeasured: why } : {}),
  };
}
