import test from "ava";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { CHECKPOINT_HEADS_BUCKET, CHECKPOINTS_BUCKET } from "@tally/node";
import { nextStreamMessage } from "../packages/node/src/nats/stream-lookup.js";
import { waitFor } from "@tally/testing";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";
import { startLoad, assertExact } from "./helpers/load.js";

test("checkpoint - a writer that died mid-checkpoint and a corrupt checkpoint never corrupt a restore: exact", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 4 });
  const js = jetstream(nc);
  const first = await inProcessNode(t, server.url, { id: "first", checkpointIntervalMs: 3_600_000 });
  const load = startLoad(t, nc, { counters: 24, concurrency: 8 });
  await waitFor(() => load.acked > 600, { timeoutMs: 30_000, message: "publishing" });
  await load.stop();
  await first.checkpoint();
  await first.close(); // hands off: every shard's checkpoint is current

  // More events after the checkpoints: the restore must replay them.
  const more = startLoad(t, nc, { ns: "more", counters: 24, concurrency: 8 });
  await waitFor(() => more.acked > 300, { timeoutMs: 30_000, message: "publishing more" });
  await more.stop();

  // Shard 1: a writer died after some chunks of a newer checkpoint and before its
  // metadata record; the chunks are there, nothing points at them.
  for (let i = 0; i < 3; i++) await js.publish(`$O.${CHECKPOINTS_BUCKET}.C.deadwriter`, new Uint8Array(512).fill(7));
  // Shard 0: the body of its checkpoint's base is corrupted (one byte flipped in each chunk).
  const heads = await new Kvm(nc).open(CHECKPOINT_HEADS_BUCKET);
  const manifest = (await heads.get("shard-0"))!.json<{ parts: { name: string }[] }>();
  const os = await new Objm(nc).open(CHECKPOINTS_BUCKET);
  const info = await os.info(manifest.parts[0]!.name);
  t.truthy(info);
  const chunkSubject = `$O.${CHECKPOINTS_BUCKET}.C.${info!.nuid}`;
  const chunks: Uint8Array[] = [];
  for (let seq = 1; ;) {
    const m = await nextStreamMessage(nc, `OBJ_${CHECKPOINTS_BUCKET}`, chunkSubject, seq);
    if (!m) break;
    chunks.push(m.data);
    seq = m.seq + 1;
  }
  t.is(chunks.length, info!.chunks);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.purge(`OBJ_${CHECKPOINTS_BUCKET}`, { filter: chunkSubject });
  for (const c of chunks) {
    c[c.length - 1] = c[c.length - 1]! ^ 0xff;
    await js.publish(chunkSubject, c);
  }

  // A node with an empty data dir must use the shared checkpoints, skip the corrupt one, replay the rest.
  const second = await inProcessNode(t, server.url, { id: "second" });
  const sources = Object.fromEntries(second.stats().map((s) => [s.shard, s.source]));
  t.deepEqual(sources, { 0: "empty", 1: "shared", 2: "shared", 3: "shared" });
  await assertExact(t, nc, load.truth);
  await assertExact(t, nc, more.truth);
});
