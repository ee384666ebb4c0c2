import test from "ava";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { startServer } from "@tally/testing";
import { printableSubject, rawSubject } from "../packages/node/src/shard/stored-event.js";

// The node refuses subjects that are not UTF-8 by looking at the bytes nats.js received.
// Those sit in nats.js internals: if an upgrade moves them, this test says so.
test("stored event - rawSubject reaches the subject bytes of a real JetStream message", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const nc = await connect({ servers: server.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "S", subjects: ["raw.>"] });
  const js = jetstream(nc);
  await js.publish("raw.é.x", "");
  const consumer = await js.consumers.get("S");
  const m: JsMsg | null = await consumer.next({ expires: 5000 });
  t.truthy(m, "the stored message was delivered");
  const raw = rawSubject(m!);
  t.truthy(raw, "nats.js still keeps the raw subject bytes");
  t.deepEqual([...raw!], [...new TextEncoder().encode("raw.é.x")]);
  t.is(printableSubject(m!), "raw.é.x");
});
