/** What the phases of bench/ingest.ts share: the options, the server and the node under test. */
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsServer, TempDir } from "@tally/testing";
import { intArg } from "../lib/args.js";
import { spawnNode } from "../lib/node-process.js";
import type { Child } from "../lib/child.js";
import { hrNow } from "../lib/time.js";

/** Shards of the cluster (`natsMappings(64)`). */
export const SHARDS = 64;
/** Namespace of the counters. */
export const NS = "bench";

/** The options: `--events N --window W --keys K --reads R`. */
export function ingestParams() {
  const events = intArg("events", 200_000);
  return {
    events,
    window: intArg("window", 2000),
    keys: intArg("keys", 10_000),
    shards: SHARDS,
    reads: intArg("reads", 5000),
    warmupEvents: Math.min(20_000, events),
  };
}

export type IngestParams = ReturnType<typeof ingestParams>;

/** A node process under test; `readyAt` is the {@link hrNow} instant its `node ready` was seen. */
export interface NodeUnderTest {
  child: Child;
  httpPort: number;
  readyAt: bigint;
}

/** The state of one run, handed from phase to phase. */
export interface IngestRun {
  params: IngestParams;
  server: NatsServer;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Counter names `k0 … k<K-1>`. */
  keys: string[];
  /** One counter per shard, to probe every shard. */
  probeKeys: string[];
  /** The current node; the replay phase replaces it. */
  node: NodeUnderTest;
  dataDir: TempDir;
}

/** `tally node` via the CLI at info log level, with an HTTP port for /status (diagnostics). */
export async function startNodeProcess(url: string, dataDir: string): Promise<NodeUnderTest> {
  const { child, httpPort } = await spawnNode(url, dataDir, { args: ["--log-level", "info"] });
  return { child, httpPort, readyAt: hrNow() };
}

/** The pids whose CPU the phases measure. */
export const pids = (run: IngestRun) => ({ node: run.node.child.pid, natsServer: run.server.pid });
