/**
 * The steady load of bench/namespace.ts, from a process of its own so that the process timing
 * the reads is the same idle and under load: `--rate` acked +1 publishes per second,
 * round-robin over `count.<ns>.o0 … o<keys-1>`, at most 1000 in flight.
 *
 *   node --import tsx bench/namespace/steady-publisher.ts --nats URL --ns other --rate 2000 --keys 20000
 *
 * Prints `ready` once connected; on SIGTERM (or when its parent is gone) stops publishing, waits (up to 10 s) for the
 * publishes in flight, prints `stats {"sent","acked","errors","seconds"}` and exits.
 */
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { stringArg } from "../lib/args.js";
import { nowMs, sleep } from "../lib/time.js";

const arg = (name: string, fallback?: string) => stringArg("steady-publisher", name, fallback);
const ns = arg("ns");
const rate = Number(arg("rate"));
const keys = Number(arg("keys"));
const WINDOW = 1000;

const nc = await connect({ servers: arg("nats"), name: "tally-bench-steady-publisher" });
const js = jetstream(nc);
const subjects = Array.from({ length: keys }, (_, k) => `count.${ns}.o${k}`);
const empty = new Uint8Array(0);
let sent = 0;
let acked = 0;
let errors = 0;
let inflight = 0;
let stop = false;
process.once("SIGTERM", () => (stop = true));
process.once("SIGINT", () => (stop = true));
process.stdout.write("ready\n");

const parent = process.ppid;
const t0 = nowMs();
while (!stop) {
  if (process.ppid !== parent) break; // the bench died without stopping us: stop on our own
  const due = Math.floor(((nowMs() - t0) / 1000) * rate);
  while (sent < due && inflight < WINDOW) {
    inflight++;
    js.publish(subjects[sent % keys]!, empty).then(
      () => {
        inflight--;
        acked++;
      },
      () => {
        inflight--;
        errors++;
      },
    );
    sent++;
  }
  await sleep(5);
}
const seconds = (nowMs() - t0) / 1000;
for (const deadline = nowMs() + 10_000; inflight > 0 && nowMs() < deadline;) await sleep(10);
process.stdout.write(`stats ${JSON.stringify({ sent, acked, errors, seconds })}\n`);
await nc.close();
process.exit(0);
