import test from "ava";
import { headers } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import { CHECKPOINTS_BUCKET } from "@tally/node";
import { waitFor } from "@tally/testing";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";
import { startLoad, assertExact } from "./helpers/load.js";

const metaSubject = (name: string) =>
  `$O.${CHECKPOINTS_BUCKET}.M.${Buffer.from(name).toString("base64").replace(/\+/g, "-").replace(/\//g, "_")}`;

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

  const os = await new Objm(nc).open(CHECKPOINTS_BUCKET);
  // Shard 1: a writer died after some chunks of a newer checkpoint and before its
  // metadata record; the chunks are there, nothing points at them.
  for (let i = 0; i < 3; i++) await js.publish(`$O.${CHECKPOINTS_BUCKET}.C.deadwriter`, new Uint8Array(512).fill(7));
  // Shard 0: the metadata names a digest its chunks do not have (corruption).
  const info = await os.info("shard-0");
  t.truthy(info);
  const h = headers();
  h.set("Nats-Rollup", "sub");
  await js.publish(
    metaSubject("shard-0"),
    JSON.stringify({ ...info, digest: `SHA-256=${Buffer.alloc(32).toString("base64url")}=` }),
    {
      headers: h,
    },
  );

  // A node with an empty data dir must use the shared checkpoints, skip the corrupt one, replay the rest.
  const second = await inProcessNode(t, server.url, { id: "second" });
  const sources = Object.fromEntries(second.stats().map((s) => [s.shard, s.source]));
  t.deepEqual(sources, { 0: "empty", 1: "shared", 2: "shared", 3: "shared" });
  await assertExact(t, nc, load.truth);
  await assertExact(t, nc, more.truth);
});
