import test from "ava";
import { headers } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { dlqSubject, shardOf } from "@tally/core";
import { DLQ_STREAM, EVENTS_STREAM, DlqHeader, listDeadLetters } from "@tally/node";
import { tempDir, waitFor } from "@tally/testing";
import { inProcessNode, spawnNode, tallyServer } from "./helpers/cluster.js";
import { within } from "./helpers/deadline.js";

test("dead letters - a forged dlq-<seq> record sent first cannot hide the real one, even on a server without permissions", async (t) => {
  const { server, nc, shards } = await tallyServer(t, { shards: 8 });
  const node = await inProcessNode(t, server.url, { id: "dlq-node" });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  // Predict the next event's sequence and claim its record's id with a record of our own.
  const next = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq + 1;
  const shard = shardOf("web", "home", shards);
  const h = headers();
  h.set(DlqHeader.code, "FORGED");
  h.set(DlqHeader.message, "nothing to see here");
  h.set(DlqHeader.seq, String(next));
  h.set(DlqHeader.node, node.id); // claiming to be the node changes nothing
  const forged = await js.publish(dlqSubject(shard), "forged", { headers: h, msgID: `dlq-${next}` });
  t.false(forged.duplicate);

  const ack = await js.publish("count.web.home", "five");
  t.is(ack.seq, next);
  const records = await waitFor(
    async () => {
      const all = await listDeadLetters(nc);
      return all.some((d) => d.code === "BAD_BODY") ? all : undefined;
    },
    { timeoutMs: 15_000, message: "the real dead-letter record" },
  );
  // Both are kept: the forged one cannot pass for the real one, which says what happened.
  t.is(records.length, 2);
  t.like(records[0], { dlqSeq: forged.seq, code: "FORGED", seq: next });
  t.like(records[1], { code: "BAD_BODY", seq: next, node: node.id, subject: `tally.ev.${shard}.web.home` });
  t.is(new TextDecoder().decode(records[1]!.body), "five");
  t.is((await jsm.streams.info(DLQ_STREAM)).state.messages, 2);
  // The shard went on: a valid event after it counts.
  const ok = await js.publish("count.web.home", "2");
  const reply = await nc.request("count.get.web.home", JSON.stringify({ minSeq: ok.seq }), { timeout: 10_000 });
  t.is(reply.json<{ value: number }>().value, 2);
});

test("dead letters - a replay after kill -9 writes the same record again: it is recognised, one record stays", async (t) => {
  const { server, nc, shards } = await tallyServer(t, { shards: 4 });
  const dir = await tempDir("tally-dlq-replay-");
  t.teardown(() => dir.remove());
  // No snapshot or checkpoint before the kill: the next start replays the shard from its start.
  const never = ["--snapshot-interval", "3600000", "--snapshot-events", "10000000", "--checkpoint-interval", "3600000"];
  const first = spawnNode(t, server.url, dir.path, ["--id", "replayer", ...never]);
  await first.ready;
  const js = jetstream(nc);
  const bad = await js.publish("count.web.home", "five");
  const good = await js.publish("count.web.home", "2");
  const reply = await nc.request("count.get.web.home", JSON.stringify({ minSeq: good.seq }), { timeout: 10_000 });
  t.is(reply.json<{ value: number }>().value, 2);
  const recorded = await waitFor(
    async () => (await listDeadLetters(nc)).filter((d) => d.seq === bad.seq).length === 1,
    { timeoutMs: 15_000, message: "the dead-letter record of the bad event" },
  );
  t.true(recorded);
  first.proc.kill("SIGKILL");
  await within(first.exited, 10_000, "the node to die");

  // The same node again, on its data dir: the shard restores empty and replays both events.
  const again = await inProcessNode(t, server.url, { id: "replayer", dataDir: dir.path });
  // Its lease from the killed run must lapse before it takes the shard again: ask until it answers.
  const after = await waitFor(
    async () => {
      try {
        const r = await nc.request("count.get.web.home", JSON.stringify({ minSeq: good.seq }), { timeout: 5_000 });
        return r.json<{ value?: number }>();
      } catch {
        return undefined; // no responders while the shard has no owner
      }
    },
    { timeoutMs: 60_000, message: "the restarted node to serve the shard" },
  );
  t.is(after.value, 2);
  const shard = again.stats().find((s) => s.shard === shardOf("web", "home", shards));
  t.like(shard, { source: "empty", eventsApplied: 1 }, "the replay went over the bad event again");
  // The replay wrote the bad event's record again under the same id: a duplicate the node
  // read back and recognised as its own, so no second record.
  await again.snapshot(); // the replay is done (read above); the DLQ write came before the good event's apply
  const records = (await listDeadLetters(nc)).filter((d) => d.seq === bad.seq);
  t.is(records.length, 1);
  t.like(records[0], { code: "BAD_BODY", node: "replayer" });
  t.is((await jetstreamManager(nc).then((m) => m.streams.info(DLQ_STREAM))).state.messages, 1);
});
