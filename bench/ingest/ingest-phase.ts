/**
 * 1. End-to-end ingest: N acked publishes counted by a bare consumer (the baseline), then the
 * same publishes to Tally until every shard answers a `minSeq = last ack` read.
 */
import { cpuDelta, cpuMark } from "../lib/cpu.js";
import { checkExact } from "../lib/exact.js";
import { publishAll } from "../lib/publish.js";
import { hrNow, log, msSince } from "../lib/time.js";
import { rawConsumerDone, startLatencyProbe, startRawConsumer, type ProbeStats } from "./helpers.js";
import { NS, pids, type IngestRun } from "./run.js";
import { StatusSampler, appliedAt, applyFigures } from "./status-sampler.js";
import { allShardsAt } from "./shard-reads.js";

/** The latency probe's pace while an ingest publishes: about 500 ticks in a 10 s ingest. */
const PROBE_EVERY_MS = 20;

/** Read p99 during the Tally ingest may be at most this many times the echo's p99 in the same ticks. */
export const READ_UNDER_LOAD_TARGET = 3;

/**
 * Reads while the Tally ingest published, against the echo responder asked in the same ticks
 * (the same load: nats-server, publisher and node all busy); the echo during the raw ingest is
 * informative (less load: a bare consumer instead of the node).
 */
function readsDuringIngest(tally: ProbeStats & { pair?: ProbeStats }, echoRawIngest: ProbeStats) {
  const { pair: echo, ...reads } = tally;
  if (!echo) throw new Error("the latency probe returned no echo figures");
  const ratio = reads.p99 / echo.p99;
  return {
    tally: reads,
    echo,
    p99Ratio: ratio,
    target: `tally p99 <= ${READ_UNDER_LOAD_TARGET} x echo p99, no errors`,
    met: ratio <= READ_UNDER_LOAD_TARGET && reads.errors === 0,
    echoRawIngest,
  };
}

/** Runs both ingests (raw first; the echo responder must be up) and checks Tally's counts. */
export async function measureIngest(run: IngestRun) {
  const { server, nc, js, jsm, keys, probeKeys, node } = run;
  const { events: N, window: WINDOW, keys: KEYS } = run.params;
  const rawSubjects = keys.map((k) => `raw.${k}`);
  const tallySubjects = keys.map((k) => `count.${NS}.${k}`);

  // 1a. Raw ingest: same publishes, counted by a bare consumer in its own process.
  log("ingest: raw baseline");
  await jsm.streams.add({ name: "RAW", subjects: ["raw.>"], storage: "file" } as Parameters<typeof jsm.streams.add>[0]);
  const rawCons = await startRawConsumer(server.url, "RAW", N);
  let probe = await startLatencyProbe(server.url, "echo.k", KEYS, { everyMs: PROBE_EVERY_MS });
  let mark = cpuMark({ ...pids(run), consumer: rawCons.child.pid });
  const rawPub = await publishAll(js, rawSubjects, N, WINDOW);
  const rawDone = await rawConsumerDone(rawCons.child, 170_000);
  const echoUnderLoad = await probe.stop();
  const rawCpu = cpuDelta(mark, cpuMark({ ...pids(run), consumer: rawCons.child.pid }));
  await rawCons.child.exited;
  const rawIngest = {
    publishMs: msSince(rawPub.startedAt, rawPub.doneAt),
    totalMs: msSince(rawPub.startedAt, rawDone.at),
    consumerCpuMs: rawDone.cpuMs,
    consumerCount: rawDone.count,
  };
  const rawIngestRate = N / (rawIngest.totalMs / 1000);
  await jsm.streams.delete("RAW");

  // 1b. Tally ingest: publish, then every shard must answer a read with minSeq = last ack.
  log("ingest: tally");
  // Each tick reads Tally and asks the echo responder, so both see the same load.
  probe = await startLatencyProbe(server.url, `count.get.${NS}.k`, KEYS, { pair: "echo.k", everyMs: PROBE_EVERY_MS });
  mark = cpuMark(pids(run));
  const pubStart = hrNow();
  const sampler = new StatusSampler(node.httpPort, pubStart);
  const tallyPub = await publishAll(js, tallySubjects, N, WINDOW);
  const readsUnderLoad = await probe.stop();
  const visible = await allShardsAt(nc, NS, probeKeys, KEYS, tallyPub.lastSeq, N);
  const tallyCpu = cpuDelta(mark, cpuMark(pids(run)));
  const samples = await sampler.stop();
  const pubMs = msSince(pubStart, tallyPub.doneAt);
  const tallyIngest = {
    publishMs: pubMs,
    totalMs: msSince(pubStart, visible.at),
    lastSeq: tallyPub.lastSeq,
    readAttempts: visible.attempts,
    nodeAppliedAtPublishEnd: appliedAt(samples, pubMs),
    ...applyFigures(samples, N),
    minSeqReadsWrong: visible.minSeqReadsWrong,
    nodeWarnings: { ...node.child.warnings },
    samples,
  };
  const tallyIngestRate = N / (tallyIngest.totalMs / 1000);
  log("ingest: checking exactness");
  const ingestExact = await checkExact(nc, NS, "k", KEYS, N);
  ingestExact.exact &&= visible.minSeqReadsWrong === 0;

  const ratio = tallyIngestRate / rawIngestRate;
  return {
    results: {
      tally: {
        eventsPerSec: tallyIngestRate,
        ...tallyIngest,
        exact: ingestExact.exact,
        check: ingestExact,
        cpu: tallyCpu,
      },
      raw: { eventsPerSec: rawIngestRate, ...rawIngest, cpu: rawCpu },
      ratio,
      target: "ratio >= 0.8",
      met: ratio >= 0.8 && ingestExact.exact,
    },
    duringIngest: readsDuringIngest(readsUnderLoad, echoUnderLoad),
  };
}
