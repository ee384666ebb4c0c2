import test from "ava";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startServer } from "@tally/testing";
import { nextStreamMessage } from "../packages/node/src/nats/stream-lookup.js";

// The catch-up probe reads "no next event" as "caught up": only the server's "no message
// found" may mean that, never a stream that is missing (or not loaded yet).
test("stream lookup - the next message, none past the end, and an error for a missing stream", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const nc = await connect({ servers: server.url });
  t.teardown(() => nc.close());
  await (await jetstreamManager(nc)).streams.add({ name: "S", subjects: ["s.>"] });
  const js = jetstream(nc);
  await js.publish("s.a", "1");
  await js.publish("s.b", "2");
  await js.publish("s.a", "3");
  t.is((await nextStreamMessage(nc, "S", "s.a", 2))?.seq, 3);
  t.is(new TextDecoder().decode((await nextStreamMessage(nc, "S", "s.a", 1))!.data), "1");
  t.is(await nextStreamMessage(nc, "S", "s.a", 4), undefined);
  t.is(await nextStreamMessage(nc, "S", "s.c", 1), undefined);
  await t.throwsAsync(() => nextStreamMessage(nc, "MISSING", "s.a", 1), { message: /lookup failed/ });
});
