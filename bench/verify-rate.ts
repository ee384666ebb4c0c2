/**
 * Recount rate of `tally verify` against the least a JetStream reader can do, in the same
 * run: one ordered consumer that only counts messages, with the same pull size, in the
 * same process and over the same stream. Rounds alternate (raw, recount, raw, …) so load
 * from elsewhere hits both alike; the medians are compared. Target: ratio ≥ 0.8.
 *
 *   npx tsx bench/verify-rate.ts [--events N] [--keys K] [--rounds R]
 *
 * Standalone it starts a nats-server with the Tally mappings (64 shards), publishes N
 * empty events over K counters, measures, prints a table and writes
 * `bench/results/verify-rate.json`. Other benchmarks call {@link measureVerifyRate} on a
 * stream they filled.
 */
import { pathToFileURL } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import type { Period } from "@tally/core";
import { DEFAULT_READ_BATCH, EVENTS_STREAM, readClusterConfig, recountEventLog } from "@tally/node";
import { intArg } from "./lib/args.js";
import { runBench } from "./lib/cleanup.js";
import { benchEnv, gitState } from "./lib/env.js";
import { publishAll } from "./lib/publish.js";
import { writeResults } from "./lib/results.js";
import { startTallyServer } from "./lib/server.js";
import { fmt, int, printRows, yes } from "./lib/table.js";

/** Options of {@link measureVerifyRate}. */
export interface VerifyRateOptions {
  /** NATS server URL(s), comma-separated. */
  url: string;
  /** @default "TALLY_EVENTS" */
  stream?: string;
  /** Shards and periods of the recount. @default the cluster config's */
  shards?: number;
  periods?: Period[];
  /** Rounds of each reader. @default 3 */
  rounds?: number;
  /** Messages per pull, for both readers. @default DEFAULT_READ_BATCH (2048) */
  batch?: number;
}

/** What {@link measureVerifyRate} measured. */
export interface VerifyRateResult {
  /** Messages each round read (the stream's first to last sequence when it started). */
  events: number;
  /** Median events/s of the raw ordered consumer. */
  rawPerSec: number;
  /** Median events/s of the verify recount. */
  recountPerSec: number;
  /** recountPerSec / rawPerSec; the target is ≥ 0.8. */
  ratio: number;
  /** Every round's events/s. */
  rounds: { raw: number[]; recount: number[] };
}

/** Measures the recount rate of `tally verify` against a raw ordered consumer; see the file's doc. */
export async function measureVerifyRate(opts: VerifyRateOptions): Promise<VerifyRateResult> {
  const nc = await connect({ servers: opts.url.split(","), name: "tally-bench-verify-rate" });
  try {
    const stream = opts.stream ?? EVENTS_STREAM;
    const batch = opts.batch ?? DEFAULT_READ_BATCH;
    const config =
      opts.shards !== undefined && opts.periods !== undefined
        ? { shards: opts.shards, periods: opts.periods }
        : await readClusterConfig(nc);
    const shards = opts.shards ?? config.shards;
    const periods = opts.periods ?? config.periods;
    const raw: number[] = [];
    const recount: number[] = [];
    let events = 0;
    for (let i = 0; i < (opts.rounds ?? 3); i++) {
      const r = await rawCount(nc, stream, batch);
      raw.push(r.perSec);
      events = r.events;
      const t0 = performance.now();
      const rc = await recountEventLog(nc, { stream, shards, periods, batch });
      const ms = performance.now() - t0;
      if (rc.scanned !== r.events)
        throw new Error(`the recount read ${rc.scanned} events, the raw consumer ${r.events}`);
      recount.push((rc.scanned * 1000) / ms);
    }
    const rawPerSec = median(raw);
    const recountPerSec = median(recount);
    return { events, rawPerSec, recountPerSec, ratio: recountPerSec / rawPerSec, rounds: { raw, recount } };
  } finally {
    await nc.close();
  }
}

/** One ordered consumer over the whole stream, counting messages and nothing else. */
async function rawCount(
  nc: NatsConnection,
  stream: string,
  batch: number,
): Promise<{ events: number; perSec: number }> {
  const t0 = performance.now();
  const state = (await (await jetstreamManager(nc)).streams.info(stream)).state;
  const last = state.last_seq;
  if (state.messages === 0) return { events: 0, perSec: 0 };
  const consumer = await jetstream(nc).consumers.get(stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: state.first_seq,
  });
  let seen = 0;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const messages = await consumer.consume({
    max_messages: batch,
    expires: 5000,
    callback: (m: JsMsg) => {
      seen++;
      if (m.seq >= last) finish();
    },
  });
  await Promise.race([
    done,
    messages.closed().then(() => {
      throw new Error(`raw consumer stopped after ${seen} messages`);
    }),
  ]);
  const ms = performance.now() - t0;
  messages.stop();
  return { events: seen, perSec: (seen * 1000) / ms };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  const events = intArg("events", 500_000);
  const keys = intArg("keys", 10_000);
  const rounds = intArg("rounds", 3);
  const { server, nc } = await startTallyServer(64, "tally-bench-verify-rate-publisher");
  console.log(`publishing ${int(events)} events over ${int(keys)} counters…`);
  const subjects = Array.from({ length: keys }, (_, k) => `count.bench.k${k}`);
  await publishAll(jetstream(nc), subjects, events, 2000);
  const r = await measureVerifyRate({ url: server.url, rounds });
  printRows([
    ["metric", "verify recount", "raw ordered consumer", "ratio", "target", "met"],
    ["events/s (median)", int(r.recountPerSec), int(r.rawPerSec), fmt(r.ratio, 2), "≥ 0.8", yes(r.ratio >= 0.8)],
  ]);
  console.log(
    `\nrounds (events/s): recount ${r.rounds.recount.map(int).join(", ")}; raw ${r.rounds.raw.map(int).join(", ")}`,
  );
  const path = await writeResults("verify-rate", { env: benchEnv(), git: gitState(), published: events, keys, ...r });
  console.log(`results: ${path}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await runBench(main);
