/**
 * The bounded event log: `tally init --log-max-bytes`, a node consuming, and a paced load of
 * acked publishes (each with a `ts`) over many counters that runs on for a while after the
 * log first reaches its limit. Stream info every second: the log's bytes must stay under the
 * limit; the acked rate before and after it filled up shows what discarding old events costs.
 */
import { EVENTS_STREAM } from "@tally/node";
import { cleanTempDir } from "../lib/cleanup.js";
import { spawnNode } from "../lib/node-process.js";
import { log, sleep } from "../lib/time.js";
import { leaseLapseLines } from "./node-probe.js";
import { LOG, NODE_ARGS, WINDOW } from "./options.js";
import { PacedLoad } from "./paced-load.js";
import { Sampler } from "./sampler.js";
import { startSoakCluster } from "./setup.js";

/** One second of the log phase: the stream's state (NaN when stream info timed out) and the load so far. */
interface LogSample {
  ms: number;
  bytes: number;
  messages: number;
  firstSeq: number;
  acked: number;
  errors: number;
}

/** Runs the load over `counters` counters; the cluster stays up (the verify figure reads its log). */
export async function logPhase(counters: number) {
  const cluster = await startSoakCluster(`tally-soak-log-${counters}`, [], ["--log-max-bytes", String(LOG.maxBytes)]);
  const { server, js, jsm } = cluster;
  const dir = await cleanTempDir("tally-soak-log-");
  const node = await spawnNode(server.url, dir.path, { name: "log node", nodeArgs: NODE_ARGS });
  log(`log: ${LOG.rate} acked publishes/s over ${counters} counters into a log of ${LOG.maxBytes} bytes at most`);
  const subjects = Array.from({ length: counters }, (_, i) => `count.${LOG.ns}.c${i}`);
  const load = new PacedLoad(js, { subjects, rate: LOG.rate, window: WINDOW, ts: () => Date.now() });
  const t0 = performance.now();
  const sampler = new Sampler<LogSample>(1000, async () => {
    const state = await jsm.streams.info(EVENTS_STREAM).then(
      (i) => i.state,
      () => undefined,
    );
    return {
      ms: performance.now() - t0,
      bytes: state?.bytes ?? NaN,
      messages: state?.messages ?? NaN,
      firstSeq: state?.first_seq ?? NaN,
      acked: load.ackedTotal,
      errors: load.errors,
    };
  });
  load.start();
  // Until the log has dropped its first event (it is full), then `afterSec` more.
  const deadline = Date.now() + 300_000;
  while (!sampler.samples.some((s) => s.firstSeq > 1) && Date.now() < deadline) await sleep(200);
  const full = sampler.samples.find((s) => s.firstSeq > 1);
  await sleep(LOG.afterSec * 1000);
  const end = { ms: performance.now() - t0, acked: load.ackedTotal, errors: load.errors };
  await load.stop();
  const samples = await sampler.stop();
  await node.child.stop(60_000);

  const bytes = samples.map((s) => s.bytes).filter((b) => Number.isFinite(b));
  const max = Math.max(...bytes);
  const afterMs = full ? end.ms - full.ms : NaN;
  return {
    cluster,
    results: {
      counters,
      limit: LOG.maxBytes,
      maxBytes: max,
      rate: LOG.rate,
      fullAtMs: full?.ms ?? null,
      ackedPerSecBeforeFull: full ? full.acked / (full.ms / 1000) : NaN,
      ackedPerSecAfterFull: full ? (end.acked - full.acked) / (afterMs / 1000) : NaN,
      publishErrors: load.errors,
      firstError: load.firstError,
      streamInfoTimeouts: samples.length - bytes.length,
      lastSeq: load.lastSeq,
      nodeLapseLines: leaseLapseLines(node.child.warnings),
      nodeWarnings: { ...node.child.warnings },
      target: "stream bytes ≤ --log-max-bytes at every sample",
      met: full ? max <= LOG.maxBytes : null,
      ...(full ? {} : { notMeasured: "not measured: the log never reached its limit" }),
      samples,
    },
  };
}
