import test from "ava";
import { headers } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { dlqSubject, shardOf } from "@tally/core";
import { DLQ_STREAM, EVENTS_STREAM, DlqHeader, listDeadLetters } from "@tally/node";
import { waitFor } from "@tally/testing";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";

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
