/**
 * The months phase: a node whose clock runs `days` simulated days in `realSec` real seconds
 * (TALLY_CLOCK_START / TALLY_CLOCK_RATE), fed events whose `ts` follows that clock, with
 * minute buckets kept 2 h and hour buckets 48 h and the event log bounded by size. Sampled
 * every second: the node's RSS and entries, the event log's bytes, the checkpoint bytes.
 * The log is not bounded here (see log-bound.ts: a full log slows nats-server 2.9 down with
 * this many counters, which would stop the load this phase needs).
 */
import { EVENTS_STREAM } from "@tally/node";
import { cleanTempDir } from "../lib/cleanup.js";
import { cpuDelta, cpuMark } from "../lib/cpu.js";
import { keyPerShard } from "../lib/keys.js";
import { spawnNode } from "../lib/node-process.js";
import { log, sleep } from "../lib/time.js";
import {
  checkpointFigures,
  entriesOf,
  eventLoopWindow,
  leaseLapseLines,
  nodeStatus,
  procRss,
  scrape,
} from "./node-probe.js";
import { MONTHS, NODE_ARGS, SHARDS, TARGETS, WINDOW } from "./options.js";
import { PacedLoad } from "./paced-load.js";
import { checkSample, waitCaughtUp } from "./reads.js";
import { Sampler, spread } from "./sampler.js";
import { startSoakCluster } from "./setup.js";
import { SimClock, alignWithNode } from "./sim-clock.js";
import { expiryChecks } from "./expiry-checks.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** One sample of the months phase. */
export interface MonthSample {
  /** Simulated ms since the load started. */
  simMs: number;
  rss: number;
  entries: number;
  streamBytes: number;
  streamMessages: number;
  checkpointBytes: number;
  eventLoopP99Ms: number;
}

/** Runs the months phase; its node is stopped at the end. */
export async function monthsPhase() {
  const M = MONTHS;
  const cluster = await startSoakCluster("tally-soak-months", ["--periods", M.periods], ["--retention", M.retention]);
  const { nc, js, jsm, server } = cluster;
  const keepMinute = cluster.refused ? 48 * HOUR : 2 * HOUR; // the default retention when refused
  const spanMs = M.days * DAY;
  const rate = spanMs / (M.realSec * 1000);
  const start = Math.floor((Date.now() - spanMs) / HOUR) * HOUR;

  log(`months: ${M.days} simulated days in ${M.realSec} s (rate ${Math.round(rate)}), ${M.counters} counters`);
  const dir = await cleanTempDir("tally-soak-months-");
  const guess = new SimClock(start, rate);
  const node = await spawnNode(server.url, dir.path, {
    name: "months node",
    nodeArgs: NODE_ARGS,
    args: ["--sweep-interval", String(M.sweepIntervalMs)],
    env: { TALLY_CLOCK_START: String(start), TALLY_CLOCK_RATE: String(rate) },
  });
  const { clock, behindMs } = await alignWithNode(nc, M.ns, keepMinute, guess);
  log(`months: node clock ${(behindMs / HOUR).toFixed(1)} simulated h behind the bench's guess; in step now`);

  const subjects = Array.from({ length: M.counters }, (_, i) => `count.${M.ns}.c${i}`);
  const load = new PacedLoad(js, { subjects, rate: M.rate, window: WINDOW, ts: () => clock.now() });
  const loadStart = clock.now();
  const pid = node.child.pid;
  const sampler = new Sampler<MonthSample>(M.sampleMs, async () => {
    const [status, metrics, info] = await Promise.all([
      nodeStatus(node.httpPort),
      scrape(node.httpPort),
      jsm.streams.info(EVENTS_STREAM),
    ]);
    const rss = procRss(pid);
    if (!status || !rss) return undefined;
    return {
      simMs: clock.now() - loadStart,
      rss: rss.rss,
      entries: entriesOf(status),
      streamBytes: info.state.bytes,
      streamMessages: info.state.messages,
      checkpointBytes: checkpointFigures(metrics).totalBytes,
      eventLoopP99Ms: eventLoopWindow(metrics).p99,
    };
  });
  const pids = () => ({ node: pid, natsServer: server.pid });
  const cpu0 = cpuMark(pids());
  load.start();
  while (clock.now() - loadStart < spanMs) {
    await sleep(Math.min(20_000, Math.max(10, (loadStart + spanMs - clock.now()) / rate)));
    const day = (clock.now() - loadStart) / DAY;
    log(
      `months: day ${day.toFixed(1)}, ${load.ackedTotal} acked, rss ${((procRss(pid)?.rss ?? 0) / 2 ** 20).toFixed(0)} MiB`,
    );
  }
  await load.stop();
  const cpu = cpuDelta(cpu0, cpuMark(pids()));
  const samples = await sampler.stop();
  const realMs = (clock.now() - loadStart) / rate;

  log("months: waiting for every shard to apply the last event, then checking counters");
  const probeKeys = keyPerShard(M.ns, "c", M.counters, SHARDS);
  const caughtUp = await waitCaughtUp(nc, M.ns, probeKeys, load.lastSeq, (k) => load.acked[Number(k.slice(1))]!);
  const exact = await checkSample(nc, M.ns, "c", load.acked, 5000);
  const expiry = await expiryChecks(nc, M.ns, "c0", clock.now(), keepMinute);
  const end = await scrape(node.httpPort);
  const endInfo = await jsm.streams.info(EVENTS_STREAM);
  await node.child.stop(60_000);
  const results = figures(samples, {
    refused: cluster.refused,
    rate,
    realMs,
    behindMs,
    load: {
      sent: load.sent,
      acked: load.ackedTotal,
      ackedPerSec: load.ackedTotal / (realMs / 1000),
      errors: load.errors,
      firstError: load.firstError,
      lastSeq: load.lastSeq,
    },
    sampleFailures: { count: sampler.failures, first: sampler.firstFailure },
    cpu,
    caughtUp: { wrong: caughtUp.wrong, attempts: caughtUp.attempts },
    exact,
    expiry,
    firstSeq: endInfo.state.first_seq,
    end: { ...checkpointFigures(end) },
    lapseLines: leaseLapseLines(node.child.warnings),
    warnings: { ...node.child.warnings },
  });
  return results;
}

/** The figures of the months phase, from its samples and what happened around them (`run`). */
function figures<R extends { refused: string | undefined; realMs: number }>(samples: MonthSample[], run: R) {
  const M = MONTHS;
  // After the longest retention (48 h) plus the hour bucket's own length and one sweep, after
  // every counter has had its first event (until then all-time entries still grow), and after
  // the process's warm-up in real time.
  const simPerRealMs = (M.days * DAY) / (M.realSec * 1000);
  const windowMs = M.windowMs + HOUR + M.sweepIntervalMs * simPerRealMs;
  const allCountersMs = (M.counters / M.rate) * 1000 * simPerRealMs;
  const afterMs = Math.max(windowMs, allCountersMs, M.warmUpSec * 1000 * simPerRealMs);
  const after = samples.filter((s) => s.simMs >= afterMs);
  const rss = spread(after.map((s) => s.rss));
  const entries = spread(after.map((s) => s.entries));
  const flat = rss.max <= rss.median * (1 + TARGETS.rssFlat) && rss.min >= rss.median * (1 - TARGETS.rssFlat);
  const intervals = run.realMs / 5000;
  const last = samples[samples.length - 1];
  const why = run.refused ? `not measured: ${run.refused}` : undefined;
  return {
    params: { ...M },
    ...run,
    rssAfterWindow: {
      fromSimHours: afterMs / HOUR,
      allCountersSeenSimHours: allCountersMs / HOUR,
      ...rss,
      maxOverMin: rss.max / rss.min,
      entries,
      target: "every sample within ±10 % of the median after the first retention window",
      met: why || after.length < 5 ? null : flat,
      ...(why
        ? { notMeasured: why }
        : after.length < 5
          ? { notMeasured: "not measured: too few samples after the window" }
          : {}),
    },
    checkpointBytesPerInterval: last ? last.checkpointBytes / intervals : NaN,
    eventLoopWindowP99MaxMs: Math.max(...samples.map((s) => s.eventLoopP99Ms)),
    samples,
  };
}
