/**
 * 4. Restore: on a server of its own, a fresh in-process node on an empty data dir restores
 * from the shared checkpoints; against one ordered consumer reading the whole stream and
 * against a pure replay (checkpoints purged).
 */
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { CHECKPOINTS_BUCKET, EVENTS_STREAM, startNode, type TallyNode } from "@tally/node";
import { waitFor } from "@tally/testing";
import { cleanTempDir, onCleanup } from "../lib/cleanup.js";
import { checkExact } from "../lib/exact.js";
import { publishAll } from "../lib/publish.js";
import { startTallyServer } from "../lib/server.js";
import { log, nowMs } from "../lib/time.js";
import { KEYS, N, RESTORE_NS, SHARDS, WINDOW } from "./options.js";

/** Baseline: a bare ordered consumer in this process, from connect until it has read `count` messages. */
async function rawRead(url: string, count: number) {
  const t0 = nowMs();
  const c = await connect({ servers: url, name: "tally-bench-raw" });
  try {
    const it = await (await jetstream(c).consumers.get(EVENTS_STREAM, {})).consume();
    let n = 0;
    for await (const _m of it) if (++n === count) break;
    const ms = nowMs() - t0;
    await it.close();
    return { ms, eventsPerSec: count / (ms / 1000) };
  } finally {
    await c.close();
  }
}

/** Starts an in-process node on an empty data dir; ms until it serves all P shards, all ready. */
async function freshNode(url: string, id: string, events: number) {
  const d = await cleanTempDir(`tally-bench-${id}-`);
  const t0 = nowMs();
  const node: TallyNode = await startNode({ connection: { servers: url }, dataDir: d.path, id, logLevel: "warn" });
  onCleanup(() => node.close());
  const startResolvedMs = nowMs() - t0;
  await waitFor(() => node.stats().length === SHARDS && node.stats().every((s) => s.ready), {
    timeoutMs: 120_000,
    intervalMs: 5,
    message: `${id}: all ${SHARDS} shards ready`,
  });
  const ms = nowMs() - t0;
  const sources = { local: 0, shared: 0, empty: 0 };
  for (const s of node.stats()) sources[s.source]++;
  return { node, dir: d, figures: { ms, eventsPerSec: events / (ms / 1000), startResolvedMs, sources } };
}

/** Publishes the restore stream, then times the restore, the raw read and the pure replay. */
export async function restorePhase() {
  const { server, nc } = await startTallyServer(SHARDS, "tally-bench-cluster");
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  log(`restore: publishing ${N} events over ${KEYS} counters`);
  const { lastSeq } = await publishAll(
    js,
    Array.from({ length: KEYS }, (_, k) => `count.${RESTORE_NS}.r${k}`),
    N,
    WINDOW,
  );

  // A node replays the stream, writes every shard's checkpoint and leaves (close also hands off).
  log("restore: a first node replays the stream and writes the checkpoints");
  const prep = await freshNode(server.url, "prep", lastSeq);
  await prep.node.checkpoint();
  await prep.node.close();
  await prep.dir.remove();

  log("restore: raw baseline (one ordered consumer reads the whole stream)");
  const raw = await rawRead(server.url, lastSeq);

  log("restore: fresh node, empty data dir, from the shared checkpoints");
  const restored = await freshNode(server.url, "restore", lastSeq);
  const restoreExact = await checkExact(nc, RESTORE_NS, "r", KEYS, N);
  await restored.node.close();
  await restored.dir.remove();

  log("restore: checkpoints deleted, fresh node, empty data dir (pure replay)");
  await jsm.streams.purge(`OBJ_${CHECKPOINTS_BUCKET}`);
  const replayed = await freshNode(server.url, "replay", lastSeq);
  const replayExact = await checkExact(nc, RESTORE_NS, "r", KEYS, N);
  await replayed.node.close();
  await replayed.dir.remove();

  return {
    events: lastSeq,
    keys: KEYS,
    restore: { ...restored.figures, exact: restoreExact },
    raw,
    pureReplay: { ...replayed.figures, exact: replayExact },
    firstReplayCold: prep.figures,
    ratioVsRaw: restored.figures.eventsPerSec / raw.eventsPerSec,
    ratioVsPureReplay: restored.figures.eventsPerSec / replayed.figures.eventsPerSec,
    pureReplayVsRaw: replayed.figures.eventsPerSec / raw.eventsPerSec,
    target: "none (informative); restored counts exact",
    met: restoreExact.exact && replayExact.exact && restored.figures.sources.shared === SHARDS,
  };
}
