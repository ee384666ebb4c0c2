/**
 * Baseline responder for bench/ingest.ts: answers every request on `echo.>` with a small JSON
 * reply shaped like a Tally read reply, from a process of its own (as the Tally node is). What
 * a request-reply round trip costs on this machine with no work behind it.
 *
 *   node --import tsx bench/echo.ts --nats URL
 *
 * Prints `ready` on stdout once subscribed; runs until SIGTERM.
 */
import { connect } from "@nats-io/transport-node";
import { stringArg } from "./lib/args.js";

const url = stringArg("echo", "nats");

const nc = await connect({ servers: url, name: "tally-bench-echo" });
const enc = new TextEncoder();
nc.subscribe("echo.>", {
  callback: (_err, msg) => {
    // Built per request, as the node builds its reply.
    msg.respond(enc.encode(JSON.stringify({ ns: "bench", name: msg.subject.slice(5), period: "all", value: 20 })));
  },
});
await nc.flush();
process.stdout.write("ready\n");

const stop = () => void nc.drain().finally(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
await nc.closed();
