/**
 * 3. Replay after restart: the node is stopped and its data dir deleted; a bare consumer reads
 * the stream (the baseline, and one filtered consumer per shard as information), then a new
 * node on an empty data dir replays it until every shard answers `minSeq = last seq`.
 */
import { EVENTS_STREAM } from "@tally/node";
import { cleanTempDir } from "../lib/cleanup.js";
import { cpuDelta, cpuMark } from "../lib/cpu.js";
import { checkExact } from "../lib/exact.js";
import { hrNow, log, msSince } from "../lib/time.js";
import { rawConsumerDone, startRawConsumer } from "./helpers.js";
import { NS, SHARDS, pids, startNodeProcess, type IngestRun } from "./run.js";
import { StatusSampler, applyFigures } from "./status-sampler.js";
import { allShardsAt } from "./shard-reads.js";

/** Runs the replay phase; `run.node` and `run.dataDir` are the new node's afterwards. */
export async function measureReplay(run: IngestRun) {
  const { server, nc, jsm, probeKeys } = run;
  const { events: N, keys: KEYS } = run.params;
  log("replay: stopping the node");
  const nodeExit = await run.node.child.stop(30_000);
  await run.dataDir.remove();
  const lastSeq = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;

  log("replay: raw baseline");
  const rawSpawn = hrNow();
  let mark = cpuMark({ natsServer: server.pid });
  const rawRep = await startRawConsumer(server.url, EVENTS_STREAM, lastSeq);
  const rawRepDone = await rawConsumerDone(rawRep.child, 170_000);
  const rawRepCpu = cpuDelta(mark, cpuMark({ natsServer: server.pid }));
  await rawRep.child.exited;
  const rawReplay = {
    totalMs: msSince(rawSpawn, rawRepDone.at),
    afterReadyMs: msSince(rawRep.readyAt, rawRepDone.at),
    consumeMs: rawRepDone.consumeMs,
    consumerCpuMs: rawRepDone.cpuMs,
  };

  // Informative: Tally's consumer layout (one filtered consumer per shard) with no node behind it.
  log("replay: raw baseline with one filtered consumer per shard");
  const filtSpawn = hrNow();
  mark = cpuMark({ natsServer: server.pid });
  const filt = await startRawConsumer(server.url, EVENTS_STREAM, lastSeq, ["--filters", String(SHARDS)]);
  const filtDone = await rawConsumerDone(filt.child, 170_000);
  const filtCpu = cpuDelta(mark, cpuMark({ natsServer: server.pid }));
  await filt.child.exited;
  const filteredReplay = {
    eventsPerSec: lastSeq / (msSince(filtSpawn, filtDone.at) / 1000),
    totalMs: msSince(filtSpawn, filtDone.at),
    afterReadyMs: msSince(filt.readyAt, filtDone.at),
    consumeMs: filtDone.consumeMs,
    consumerCpuMs: filtDone.cpuMs,
    cpu: filtCpu,
  };

  log("replay: tally");
  run.dataDir = await cleanTempDir("tally-bench-node-");
  const tallySpawn = hrNow();
  mark = cpuMark({ natsServer: server.pid });
  const node = (run.node = await startNodeProcess(server.url, run.dataDir.path));
  const sampler = new StatusSampler(node.httpPort, tallySpawn);
  const replayed = await allShardsAt(nc, NS, probeKeys, KEYS, lastSeq, N);
  const tallyRepCpu = cpuDelta(mark, cpuMark(pids(run)));
  const samples = await sampler.stop();
  const tallyReplay = {
    totalMs: msSince(tallySpawn, replayed.at),
    afterReadyMs: msSince(node.readyAt, replayed.at),
    readyMs: msSince(tallySpawn, node.readyAt),
    readAttempts: replayed.attempts,
    ...applyFigures(samples, lastSeq),
    minSeqReadsWrong: replayed.minSeqReadsWrong,
    nodeWarnings: { ...node.child.warnings },
    samples,
    previousNodeExit: nodeExit,
  };
  log("replay: checking exactness");
  const replayExact = await checkExact(nc, NS, "k", KEYS, N);
  replayExact.exact &&= replayed.minSeqReadsWrong === 0;

  const replayRate = lastSeq / (tallyReplay.totalMs / 1000);
  const rawReplayRate = lastSeq / (rawReplay.totalMs / 1000);
  const ratio = replayRate / rawReplayRate;
  return {
    tally: {
      eventsPerSec: replayRate,
      eventsPerSecAfterReady: lastSeq / (tallyReplay.afterReadyMs / 1000),
      ...tallyReplay,
      exact: replayExact.exact,
      check: replayExact,
      cpu: tallyRepCpu,
    },
    raw: {
      eventsPerSec: rawReplayRate,
      eventsPerSecAfterReady: lastSeq / (rawReplay.afterReadyMs / 1000),
      ...rawReplay,
      cpu: rawRepCpu,
    },
    rawFilteredPerShard: filteredReplay,
    events: lastSeq,
    ratio,
    target: "ratio >= 0.8",
    met: ratio >= 0.8 && replayExact.exact,
  };
}
