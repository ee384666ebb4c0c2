/**
 * Read latency under load for bench/ingest.ts, from a process of its own: the bench process
 * itself is busy publishing, so its own timings would measure its event loop, not the reader.
 *
 *   node --import tsx bench/latency-probe.ts --nats URL --prefix count.get.bench.k [--keys K] [--every MS]
 *
 * Sends one request to `<prefix><i % K>` every `--every` ms (one at a time) and, on SIGTERM,
 * prints `stats {"ms":[…],"errors":…}` on stdout and exits. Prints `ready` once connected.
 */
import { connect } from "@nats-io/transport-node";
import { stringArg } from "./lib/args.js";
import { hrNow, msSince, sleep } from "./lib/time.js";

const arg = (name: string, fallback?: string) => stringArg("latency-probe", name, fallback);

const url = arg("nats");
const prefix = arg("prefix");
const keys = Number(arg("keys", "10000"));
const everyMs = Number(arg("every", "50"));

const nc = await connect({ servers: url, name: "tally-bench-latency-probe" });
const ms: number[] = [];
let errors = 0;
let stop = false;
process.once("SIGTERM", () => (stop = true));
process.stdout.write("ready\n");

const empty = new Uint8Array(0);
for (let i = 0; !stop; i++) {
  const t = hrNow();
  try {
    const r = await nc.request(`${prefix}${i % keys}`, empty, { timeout: 10_000 });
    if (r.json<{ error?: unknown }>().error) errors++;
    else ms.push(msSince(t));
  } catch {
    errors++;
  }
  const spent = msSince(t);
  if (!stop) await sleep(Math.max(0, everyMs - spent));
}
process.stdout.write(`stats ${JSON.stringify({ ms, errors })}\n`);
await nc.close();
