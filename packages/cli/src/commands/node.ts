import { Option, type Command } from "commander";
import { NODE_DEFAULTS, clockFromEnv, startNode, type TallyNode } from "@tally/node";
import { connectionOptions, type FlagsOf } from "../connection.js";
import { fractionArg, int, sizeArg } from "../options.js";

interface NodeFlags {
  data: string;
  id?: string;
  http?: number;
  httpHost: string;
  snapshotInterval: number;
  snapshotEvents: number;
  readWait: number;
  maxWaitingReads: number;
  maxSeriesPoints: number;
  maxMemory?: number;
  gatherTimeout: number;
  heartbeat: number;
  memberTimeout: number;
  minMembers: number;
  maxMoving: number;
  checkpointInterval: number;
  sweepInterval: number;
  stopTimeout: number;
  logLevel: string;
}

/** `tally node`: one node in the foreground; SIGTERM/SIGINT hand its shards off. */
export function registerNode(program: Command, flags: FlagsOf): void {
  program
    .command("node")
    .description("run one node in the foreground; SIGTERM/SIGINT = graceful stop (final snapshot)")
    .requiredOption("--data <dir>", "data directory for the node's LevelDB snapshot")
    .option("--id <id>", "node id (default <hostname>-<pid>)")
    .option("--http <port>", "serve the dashboard, /metrics, /healthz, /readyz and /status on <port>", int("--http"))
    .option("--http-host <addr>", "address the HTTP endpoint listens on", NODE_DEFAULTS.httpHost)
    .option(
      "--snapshot-interval <ms>",
      "snapshot changed shards every <ms>",
      int("--snapshot-interval"),
      NODE_DEFAULTS.snapshotIntervalMs,
    )
    .option(
      "--snapshot-events <n>",
      "also snapshot a shard after <n> events",
      int("--snapshot-events"),
      NODE_DEFAULTS.snapshotEvents,
    )
    .option(
      "--read-wait <ms>",
      "longest a read waits for minSeq or replay",
      int("--read-wait"),
      NODE_DEFAULTS.readWaitMs,
    )
    .option(
      "--max-waiting-reads <n>",
      "most reads waiting per shard for minSeq or replay; more are refused at once (TOO_MANY_WAITING, retryable)",
      int("--max-waiting-reads"),
      NODE_DEFAULTS.maxWaitingReads,
    )
    .option(
      "--max-series-points <n>",
      "most points in one series read; more is TOO_MANY_POINTS",
      int("--max-series-points"),
      NODE_DEFAULTS.maxSeriesPoints,
    )
    .option(
      "--max-memory <size>",
      "bound on the resident memory (e.g. 800MiB, 2GB): over it the node takes no more shards and says so (default: no bound)",
      sizeArg("--max-memory"),
    )
    .option(
      "--gather-timeout <ms>",
      "longest a top or list waits for every shard's owner before answering partial",
      int("--gather-timeout"),
      NODE_DEFAULTS.gatherTimeoutMs,
    )
    .option("--heartbeat <ms>", "membership heartbeat interval", int("--heartbeat"), NODE_DEFAULTS.heartbeatMs)
    .option(
      "--member-timeout <ms>",
      "drop a member whose heartbeats stop for this long",
      int("--member-timeout"),
      NODE_DEFAULTS.memberTimeoutMs,
    )
    .option(
      "--min-members <n>",
      "live members needed before a new cluster takes shards",
      int("--min-members"),
      NODE_DEFAULTS.minMembers,
    )
    .option(
      "--max-moving <fraction>",
      "most shards moving at once, as a fraction of all shards",
      fractionArg,
      NODE_DEFAULTS.maxMovingFraction,
    )
    .option(
      "--checkpoint-interval <ms>",
      "write changed shards' shared checkpoints every <ms>",
      int("--checkpoint-interval"),
      NODE_DEFAULTS.checkpointIntervalMs,
    )
    .option(
      "--sweep-interval <ms>",
      "drop expired buckets (memory, snapshot, checkpoint) every <ms>",
      int("--sweep-interval"),
      NODE_DEFAULTS.sweepIntervalMs,
    )
    .option(
      "--stop-timeout <ms>",
      "longest a graceful stop (hand-off) may take before exiting",
      int("--stop-timeout"),
      NODE_DEFAULTS.stopTimeoutMs,
    )
    .addOption(
      new Option("--log-level <level>", "log level")
        .choices(["fatal", "error", "warn", "info", "debug", "trace"])
        .default(NODE_DEFAULTS.logLevel)
        .env("TALLY_LOG_LEVEL"),
    )
    .action(async (o: NodeFlags) => {
      await runNode(o, flags);
    });
}

async function runNode(o: NodeFlags, flags: FlagsOf): Promise<void> {
  // Handlers first: a stop asked for during start-up replay is honoured once it ends.
  const run: { node?: TallyNode; stopAsked: boolean; closing: boolean } = { stopAsked: false, closing: false };
  const stop = () => {
    if (run.closing) {
      process.stderr.write("tally: second stop signal: exiting without finishing the hand-off\n");
      process.exit(1);
    }
    run.stopAsked = true;
    if (!run.node) return;
    run.closing = true;
    // A hand-off needs NATS; if it is unreachable, give up after the deadline (leases then expire).
    setTimeout(() => {
      process.stderr.write(`tally: graceful stop took over ${o.stopTimeout} ms; exiting\n`);
      process.exit(1);
    }, o.stopTimeout).unref();
    run.node.close().catch((err: unknown) => process.stderr.write(`tally: close failed: ${String(err)}\n`));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  const node = (run.node = await startNode({
    connection: connectionOptions(flags()),
    dataDir: o.data,
    ...(o.id ? { id: o.id } : {}),
    ...(o.http !== undefined ? { httpPort: o.http } : {}),
    httpHost: o.httpHost,
    snapshotIntervalMs: o.snapshotInterval,
    snapshotEvents: o.snapshotEvents,
    readWaitMs: o.readWait,
    maxWaitingReads: o.maxWaitingReads,
    maxSeriesPoints: o.maxSeriesPoints,
    ...(o.maxMemory !== undefined ? { maxMemoryBytes: o.maxMemory } : {}),
    gatherTimeoutMs: o.gatherTimeout,
    heartbeatMs: o.heartbeat,
    memberTimeoutMs: o.memberTimeout,
    minMembers: o.minMembers,
    maxMovingFraction: o.maxMoving,
    checkpointIntervalMs: o.checkpointInterval,
    sweepIntervalMs: o.sweepInterval,
    logLevel: o.logLevel,
    ...withClock(clockFromEnv(process.env)),
  }));
  if (run.stopAsked) stop();
  await node.closed();
}

function withClock(clock: (() => number) | undefined): { clock?: () => number } {
  return clock ? { clock } : {};
}
