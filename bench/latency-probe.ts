/**
 * Read latency under load for bench/ingest.ts, from a process of its own: the bench process
 * itself is busy publishing, so its own timings would measure its event loop, not the reader.
 *
 *   node --import tsx bench/latency-probe.ts --nats URL --prefix count.get.bench.k
 *        [--pair echo.k] [--keys K] [--every MS]
 *
 * Every `--every` ms (default 50) it sends one request to `<prefix><i % K>` and waits for the
 * answer. With `--pair`, each tick also sends one request to `<pair><i % K>`, the two one after
 * the other, in an order that alternates from tick to tick: both then see the same load, and the
 * pair's latency is the baseline of the prefix's. On SIGTERM it prints
 * `stats {"ms":[…],"errors":…,"pairMs":[…],"pairErrors":…}` on stdout and exits. Prints `ready`
 * once connected.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { stringArg } from "./lib/args.js";
import { hrNow, msSince, sleep } from "./lib/time.js";

const arg = (name: string, fallback?: string) => stringArg("latency-probe", name, fallback);

const url = arg("nats");
const prefix = arg("prefix");
const pair = process.argv.includes("--pair") ? arg("pair") : undefined;
const keys = Number(arg("keys", "10000"));
const everyMs = Number(arg("every", "50"));

/** Latencies of the successful requests to one subject prefix, and how many failed. */
class Samples {
  readonly ms: number[] = [];
  errors = 0;

  /** Sends one request and records its round trip (an error reply or a timeout counts as an error). */
  async request(nc: NatsConnection, subject: string): Promise<void> {
    const t = hrNow();
    try {
      const r = await nc.request(subject, empty, { timeout: 10_000 });
      if (r.json<{ error?: unknown }>().error) this.errors++;
      else this.ms.push(msSince(t));
    } catch {
      this.errors++;
    }
  }
}

const empty = new Uint8Array(0);
const nc = await connect({ servers: url, name: "tally-bench-latency-probe" });
const main = new Samples();
const paired = new Samples();
let stop = false;
process.once("SIGTERM", () => (stop = true));
process.stdout.write("ready\n");

for (let i = 0; !stop; i++) {
  const t = hrNow();
  if (pair === undefined) await main.request(nc, `${prefix}${i % keys}`);
  else if (i % 2 === 0) {
    await main.request(nc, `${prefix}${i % keys}`);
    await paired.request(nc, `${pair}${i % keys}`);
  } else {
    await paired.request(nc, `${pair}${i % keys}`);
    await main.request(nc, `${prefix}${i % keys}`);
  }
  if (!stop) await sleep(Math.max(0, everyMs - msSince(t)));
}
const out = { ms: main.ms, errors: main.errors, ...(pair ? { pairMs: paired.ms, pairErrors: paired.errors } : {}) };
process.stdout.write(`stats ${JSON.stringify(out)}\n`);
await nc.close();
