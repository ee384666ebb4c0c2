/**
 * Baseline consumer for bench/ingest.ts: the least a JetStream reader can do. Ordered
 * consumers on a stream, counting messages and nothing else, in a process of its own (as the
 * Tally node is), so it pays the same process, connection and delivery costs but no decoding,
 * counting, snapshots or catch-up proofs.
 *
 *   node --import tsx bench/raw-consumer.ts --nats URL --stream RAW --count N [--batch B]
 *        [--filters P]
 *
 * By default one ordered consumer reads the whole stream. `--filters P` instead opens P
 * ordered consumers filtered on `tally.ev.<shard>.>` (Tally's own consumer layout: what the
 * server pays for P filtered consumers over one stream, with no node work behind them).
 *
 * stdout protocol, one line each: `ready` once the consumers exist (start publishing after
 * it), then `done {"count":…,"consumeMs":…,"cpuMs":…}` after N messages, then it exits.
 */
import { connect } from "@nats-io/transport-node";
import { jetstream, type ConsumerMessages } from "@nats-io/jetstream";
import { stringArg } from "./lib/args.js";
import { hrNow, msSince } from "./lib/time.js";

const arg = (name: string, fallback?: string) => stringArg("raw-consumer", name, fallback);

const url = arg("nats");
const stream = arg("stream");
const count = Number(arg("count"));
const batch = process.argv.includes("--batch") ? Number(arg("batch")) : undefined;
const filters = Number(arg("filters", "0"));
if (!Number.isInteger(count) || count < 1) throw new Error("raw-consumer: --count must be a positive integer");
if (!Number.isInteger(filters) || filters < 0)
  throw new Error("raw-consumer: --filters must be a non-negative integer");

const nc = await connect({ servers: url, name: "tally-bench-raw-consumer" });
const js = jetstream(nc);
const opts = batch !== undefined ? { max_messages: batch } : undefined;
const iters: ConsumerMessages[] =
  filters === 0
    ? [await (await js.consumers.get(stream, {})).consume(opts)]
    : await Promise.all(
        Array.from({ length: filters }, async (_, s) =>
          (await js.consumers.get(stream, { filter_subjects: `tally.ev.${s}.>` })).consume(
            opts ?? { max_messages: 256 },
          ),
        ),
      );
process.stdout.write("ready\n");

const cpu0 = process.cpuUsage();
let t0: bigint | undefined;
let seen = 0;
let finish!: () => void;
const finished = new Promise<void>((r) => (finish = r));
for (const it of iters) {
  void (async () => {
    for await (const m of it) {
      // The first message marks the start: before it there is nothing to do.
      t0 ??= hrNow();
      void m;
      if (++seen === count) finish();
    }
  })();
}
await finished;
const consumeMs = t0 === undefined ? 0 : msSince(t0);
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`done ${JSON.stringify({ count: seen, consumeMs, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
await Promise.all(iters.map((it) => it.close()));
await nc.close();
