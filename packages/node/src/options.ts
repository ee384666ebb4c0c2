import { hostname } from "node:os";
import type { ConnectionOptions } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { NodeError } from "./errors.js";

/**
 * Default node settings: the one source for {@link resolveNodeOptions}, the CLI's
 * flags and help, and the docs.
 */
export const NODE_DEFAULTS = {
  natsUrl: "nats://127.0.0.1:4222",
  snapshotIntervalMs: 2000,
  snapshotEvents: 10_000,
  readWaitMs: 5000,
  maxSeriesPoints: 1000,
  /** Most reads waiting for a sequence (`minSeq`, or a replay) per shard; more are refused, retryable. */
  maxWaitingReads: 1000,
  /** A namespace-wide read (top, list) waits this long for every shard's owner, then answers partial. */
  gatherTimeoutMs: 2000,
  pullBatch: 256,
  heartbeatMs: 1000,
  memberTimeoutMs: 5000,
  minMembers: 1,
  maxMovingFraction: 0.25,
  checkpointIntervalMs: 5000,
  /** Drop expired buckets from memory, then from the snapshot and checkpoint, at this interval. */
  sweepIntervalMs: 60_000,
  /** Longest a graceful stop may take (the CLI's `--stop-timeout`). */
  stopTimeoutMs: 60_000,
  logLevel: "info",
  /** Address the HTTP endpoint listens on (`0.0.0.0` for Prometheus or a Kubernetes probe on another host). */
  httpHost: "127.0.0.1",
} as const;

/** Options of {@link startNode}; all but `dataDir` optional. */
export interface NodeOptions {
  /** NATS connection options (servers, credentials, TLS). @default { servers: "nats://127.0.0.1:4222" } */
  connection?: ConnectionOptions;
  /** Directory of the node's LevelDB snapshot. Required. */
  dataDir: string;
  /** Node id, shown in logs and status. @default `<hostname>-<pid>` */
  id?: string;
  /** Port for the dashboard, `/metrics`, `/healthz`, `/readyz` and `/status`; 0 picks a free one. @default undefined (no HTTP) */
  httpPort?: number;
  /** Address the HTTP endpoint listens on. @default "127.0.0.1" */
  httpHost?: string;
  /** Snapshot every shard with changes at this interval. @default 2000 */
  snapshotIntervalMs?: number;
  /** Also snapshot a shard after this many events. @default 10000 */
  snapshotEvents?: number;
  /** How long a read may wait for `minSeq` or for replay after start. @default 5000 */
  readWaitMs?: number;
  /** Most points in one series reply; a longer series is `TOO_MANY_POINTS`. @default 1000 */
  maxSeriesPoints?: number;
  /**
   * Most reads waiting per shard for a sequence (`minSeq`, or the replay of a shard just
   * taken); one more is answered at once with `TOO_MANY_WAITING` (retryable). @default 1000
   */
  maxWaitingReads?: number;
  /** How long a top or list waits for every shard's owner before answering `partial`, in ms. @default 2000 */
  gatherTimeoutMs?: number;
  /** Messages requested per pull from a shard's consumer. @default 256 */
  pullBatch?: number;
  /** Heartbeat interval into the members bucket, in ms. @default 1000 */
  heartbeatMs?: number;
  /** A member whose heartbeats stop for this long drops out and its shards are reassigned, in ms. @default 5000 */
  memberTimeoutMs?: number;
  /** Live members needed before a new cluster takes shards (a node joining a running cluster never waits). @default 1 */
  minMembers?: number;
  /** Most shards moving between nodes at once, as a fraction of all shards. @default 0.25 */
  maxMovingFraction?: number;
  /** Write each changed shard's shared checkpoint at this interval, in ms. @default 5000 */
  checkpointIntervalMs?: number;
  /** Sweep expired buckets (memory, then LevelDB and the shared checkpoint) at this interval, in ms. @default 60000 */
  sweepIntervalMs?: number;
  /**
   * The node's clock, epoch ms: buckets expire by it. For tests and benchmarks that
   * simulate months in minutes (the CLI reads `TALLY_CLOCK_START` and `TALLY_CLOCK_RATE`).
   * @default Date.now
   */
  clock?: () => number;
  /** pino logger; @default a pino logger on stderr at `logLevel` */
  logger?: Logger;
  /** Level of the default logger. @default "info" */
  logLevel?: string;
  /**
   * Bound on the process's resident memory, in bytes: above it the node takes no more
   * shards (it keeps serving those it has) and says so in `tally status`, `/status` and
   * `tally_refusing_shards`; under 90% of it, it takes shards again. Nodes in one process
   * share one resident set. @default undefined (no bound)
   */
  maxMemoryBytes?: number;
}

/** {@link NodeOptions} with every default filled in and every range checked. */
export interface ResolvedNodeOptions extends Required<Omit<NodeOptions, "httpPort" | "logger" | "maxMemoryBytes">> {
  httpPort: number | undefined;
  maxMemoryBytes: number | undefined;
  logger: Logger | undefined;
}

/** Fills defaults and rejects bad values with a message naming the option. */
export function resolveNodeOptions(opts: NodeOptions): ResolvedNodeOptions {
  if (!opts.dataDir)
    throw new NodeError(
      "BAD_OPTION",
      "dataDir is required: the directory for the node's LevelDB snapshot (--data DIR)",
    );
  const r: ResolvedNodeOptions = {
    connection: opts.connection ?? { servers: NODE_DEFAULTS.natsUrl },
    dataDir: opts.dataDir,
    id: opts.id ?? `${hostname()}-${process.pid}`,
    httpPort: opts.httpPort,
    httpHost: opts.httpHost ?? NODE_DEFAULTS.httpHost,
    snapshotIntervalMs: opts.snapshotIntervalMs ?? NODE_DEFAULTS.snapshotIntervalMs,
    snapshotEvents: opts.snapshotEvents ?? NODE_DEFAULTS.snapshotEvents,
    readWaitMs: opts.readWaitMs ?? NODE_DEFAULTS.readWaitMs,
    maxSeriesPoints: opts.maxSeriesPoints ?? NODE_DEFAULTS.maxSeriesPoints,
    maxWaitingReads: opts.maxWaitingReads ?? NODE_DEFAULTS.maxWaitingReads,
    gatherTimeoutMs: opts.gatherTimeoutMs ?? NODE_DEFAULTS.gatherTimeoutMs,
    pullBatch: opts.pullBatch ?? NODE_DEFAULTS.pullBatch,
    heartbeatMs: opts.heartbeatMs ?? NODE_DEFAULTS.heartbeatMs,
    memberTimeoutMs: opts.memberTimeoutMs ?? NODE_DEFAULTS.memberTimeoutMs,
    minMembers: opts.minMembers ?? NODE_DEFAULTS.minMembers,
    maxMovingFraction: opts.maxMovingFraction ?? NODE_DEFAULTS.maxMovingFraction,
    checkpointIntervalMs: opts.checkpointIntervalMs ?? NODE_DEFAULTS.checkpointIntervalMs,
    sweepIntervalMs: opts.sweepIntervalMs ?? NODE_DEFAULTS.sweepIntervalMs,
    logger: opts.logger,
    clock: opts.clock ?? Date.now,
    logLevel: opts.logLevel ?? NODE_DEFAULTS.logLevel,
    maxMemoryBytes: opts.maxMemoryBytes,
  };
  const int = (name: keyof ResolvedNodeOptions, min: number, max: number) => {
    const v = r[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new NodeError("BAD_OPTION", `${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
    }
  };
  int("snapshotIntervalMs", 10, 3_600_000);
  int("snapshotEvents", 1, 10_000_000);
  int("readWaitMs", 1, 600_000);
  int("maxSeriesPoints", 1, 1_000_000);
  int("maxWaitingReads", 1, 1_000_000);
  int("gatherTimeoutMs", 10, 600_000);
  int("pullBatch", 1, 10_000);
  int("heartbeatMs", 50, 60_000);
  int("memberTimeoutMs", 100, 600_000);
  int("minMembers", 1, 1000);
  int("checkpointIntervalMs", 100, 3_600_000);
  int("sweepIntervalMs", 100, 3_600_000);
  if (r.memberTimeoutMs < 2 * r.heartbeatMs) {
    throw new NodeError(
      "BAD_OPTION",
      `memberTimeoutMs (${r.memberTimeoutMs}) must be at least twice heartbeatMs (${r.heartbeatMs}), or one late heartbeat drops a live member`,
    );
  }
  if (!(r.maxMovingFraction > 0 && r.maxMovingFraction <= 1)) {
    throw new NodeError("BAD_OPTION", `maxMovingFraction must be above 0 and at most 1, got ${r.maxMovingFraction}`);
  }
  if (r.httpPort !== undefined) int("httpPort", 0, 65535);
  if (r.maxMemoryBytes !== undefined) int("maxMemoryBytes", 1, Number.MAX_SAFE_INTEGER);
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(r.id))
    throw new NodeError("BAD_OPTION", `id must be 1-128 of A-Z a-z 0-9 _ . -, got ${JSON.stringify(r.id)}`);
  return r;
}
