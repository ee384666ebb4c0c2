/** The options of bench/client.ts and what its phases share. */
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { TallyClient } from "@tally/client";
import type { NatsServer } from "@tally/testing";
import { intArg, stringArg } from "../lib/args.js";
import type { NodeProcess } from "../lib/node-process.js";

/** Shards of the cluster (`natsMappings(64)`, as `pnpm bench`). */
export const SHARDS = 64;

/** The targets of issue 9 this benchmark measures. */
export const TARGETS = {
  /** Pipelined acked `increment` events/s over a plain `await js.publish` loop's. */
  incrementRatio: 3,
  /** Batcher `add` calls per second, first add → `close()` resolved. */
  batcherAddsPerSec: 1_000_000,
} as const;

/**
 * `--events N` over `--increment-keys` counters (phase 1, each side, in `--blocks` turns), `--adds M` over
 * `--keys K` counters (phase 2), `--rounds R` (the phases alternate, R times each), the
 * batcher's `--flush-ms`, `--max-keys`, `--max-pending-keys`, and `--yield-every` (adds
 * between turns of the event loop); flags as documented below.
 */
export function clientParams() {
  return {
    shards: SHARDS,
    events: intArg("events", 20_000),
    incrementKeys: intArg("increment-keys", 1000),
    blocks: intArg("blocks", 20),
    adds: intArg("adds", 10_000_000),
    keys: intArg("keys", 10_000),
    rounds: intArg("rounds", 2),
    yieldEvery: intArg("yield-every", 10_000),
    /** `--async-traces`: connect without nats.js's `noAsyncTraces` (an Error made per request). */
    asyncTraces: process.argv.includes("--async-traces"),
    /** `--only increment` or `--only batcher`: one phase (for a quick look; the summary needs both). */
    only: stringArg("client bench", "only", "both"),
    /** `--await-each`: phase 2 awaits every `add()`, not only while the batcher is `full`. */
    awaitEach: process.argv.includes("--await-each"),
    // The client's default key bounds (as `tally inc --stdin`): room for the 10k counters
    // twice over. With the former defaults (maxKeys 1000, maxPendingKeys 10000) 10k hot keys
    // never fit in one batch and nearly every add became a publish of its own. A flush a second, not every
    // 100 ms: each flush publishes all 10k keys, and publishing is most of this process's CPU.
    batcher: {
      flushIntervalMs: intArg("flush-ms", 1000),
      maxKeys: intArg("max-keys", 20_000),
      maxPendingKeys: intArg("max-pending-keys", 100_000),
    },
  };
}

export type ClientParams = ReturnType<typeof clientParams>;

/** What every phase uses: one server, one node process, one connection and its client. */
export interface ClientRun {
  params: ClientParams;
  server: NatsServer;
  nc: NatsConnection;
  js: JetStreamClient;
  client: TallyClient;
  node: NodeProcess;
}

/** Counter names `k0 … k<n-1>`. */
export const keyNames = (n: number): string[] => Array.from({ length: n }, (_, k) => `k${k}`);

/** The pids whose CPU the phases measure. */
export const pids = (run: ClientRun) => ({ natsServer: run.server.pid, node: run.node.child.pid });
