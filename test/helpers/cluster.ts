import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ExecutionContext } from "ava";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  clusterStatus,
  initCluster,
  natsMappings,
  startNode,
  type ClusterStatus,
  type NodeOptions,
  type TallyNode,
} from "@tally/node";
import {
  startCluster,
  startServer,
  tempDir,
  trackProcess,
  waitFor,
  type NatsCluster,
  type NatsServer,
} from "@tally/testing";
import type { Period } from "@tally/core";
import { within } from "./deadline.js";

/** Repository root, for spawning the CLI. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const execFileAsync = promisify(execFile);

/** How long one CLI command (`inc`, `get`, `status`, …) may run before it is killed. */
const CLI_TIMEOUT_MS = 60_000;

/**
 * Runs the `tally` CLI (via tsx) to completion; rejects on a non-zero exit, with `stderr`.
 * A command still running after {@link CLI_TIMEOUT_MS} is SIGKILLed (and rejects), so a
 * hung command fails its test instead of hanging it.
 */
export function tallyCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, ["--import", "tsx", "packages/cli/src/bin.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    timeout: CLI_TIMEOUT_MS,
    killSignal: "SIGKILL",
  });
}

/** A nats-server with the Tally mappings, initialised, plus a connection to it. */
export interface TallyServer {
  server: NatsServer;
  nc: NatsConnection;
  shards: number;
}

/** Starts a server with the mappings for `shards`, runs init, cleans up in teardown. */
export async function tallyServer(
  t: ExecutionContext,
  opts: { shards?: number; periods?: Period[]; init?: boolean } = {},
): Promise<TallyServer> {
  const shards = opts.shards ?? 16;
  const server = await startServer({ extraConfig: natsMappings(shards) });
  t.teardown(() => server.stop());
  const nc = await connect({ servers: server.url });
  t.teardown(() => nc.close());
  if (opts.init !== false) await initCluster(nc, { shards, ...(opts.periods ? { periods: opts.periods } : {}) });
  return { server, nc, shards };
}

/** Starts a node in this process with a fresh data dir; closed in teardown. */
export async function inProcessNode(
  t: ExecutionContext,
  url: string,
  opts: Partial<NodeOptions> = {},
): Promise<TallyNode> {
  const dir = opts.dataDir ? undefined : await tempDir("tally-node-");
  if (dir) t.teardown(() => dir.remove());
  const node = await startNode({
    connection: { servers: url },
    dataDir: dir?.path ?? opts.dataDir!,
    logLevel: "error",
    ...opts,
  });
  t.teardown(() => within(node.close(), 60_000, `node ${node.id} to close`));
  return node;
}

/** A node running the real CLI in a child process. */
export interface NodeProcess {
  readonly proc: ChildProcess;
  /** Everything it wrote to stderr (its pino log) so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  /** Resolves when the node logged "node ready"; rejects if it exits first or takes too long. */
  readonly ready: Promise<void>;
}

/** How long a spawned node may take to log "node ready" (start-up includes its replay). */
const NODE_READY_TIMEOUT_MS = 90_000;

/**
 * Spawns `tally node` (via tsx); killed in teardown if still running. `ready` rejects if the
 * node exits first or is not ready within {@link NODE_READY_TIMEOUT_MS}.
 */
export function spawnNode(t: ExecutionContext, url: string, dataDir: string, args: string[] = []): NodeProcess {
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", "packages/cli/src/bin.ts", "--nats", url, "node", "--data", dataDir, ...args],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TALLY_LOG_LEVEL: process.env.TALLY_TEST_LOG_LEVEL ?? "info" },
    },
  );
  trackProcess(proc); // SIGKILLed when this test process exits, even after an ava timeout
  let err = "";
  // TALLY_TEST_LOGS=<dir> keeps every spawned node's log there, for post-mortems of hung tests.
  const logFile = process.env.TALLY_TEST_LOGS ? join(process.env.TALLY_TEST_LOGS, `node-${proc.pid}.log`) : undefined;
  proc.stdout!.resume();
  const exited = new Promise<number | string>((resolve) =>
    proc.once("exit", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const ready = new Promise<void>((resolve, reject) => {
    proc.stderr!.on("data", (b: Buffer) => {
      err += b.toString();
      if (logFile) appendFileSync(logFile, b);
      if (err.includes('"msg":"node ready"')) resolve();
    });
    void exited.then((code) => reject(new Error(`node exited (${code}) before ready:\n${err.slice(-2000)}`)));
  });
  ready.catch(() => undefined);
  const readyInTime = within(ready, NODE_READY_TIMEOUT_MS, `node ${args.join(" ")} to log "node ready"`).catch(
    (e: unknown) => {
      throw new Error(`${(e as Error).message}; its log:\n${err.slice(-2000)}`);
    },
  );
  readyInTime.catch(() => undefined);
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGKILL");
      await within(exited, 10_000, `node pid ${proc.pid} to exit after SIGKILL`);
    }
  });
  return { proc, stderr: () => err, exited, ready: readyInTime };
}

/** Node flags for cluster tests: fast heartbeats and checkpoints, so failover fits a test's time. */
export const FAST_NODE = [
  "--heartbeat",
  "200",
  "--member-timeout",
  "1500",
  "--checkpoint-interval",
  "500",
  "--snapshot-interval",
  "200",
];

/** Starts `size` nats-servers (a JetStream cluster when > 1) with the mappings, and inits with `replicas`. */
export async function tallyCluster(
  t: ExecutionContext,
  opts: { size?: number; shards?: number; replicas?: number; leaseTtlMs?: number } = {},
): Promise<{ cluster: NatsCluster; nc: NatsConnection; url: string; shards: number }> {
  const shards = opts.shards ?? 16;
  const size = opts.size ?? 1;
  const cluster: NatsCluster =
    size === 1
      ? await startServer({ extraConfig: natsMappings(shards) }).then((s) => ({
          servers: [s],
          urls: [s.url],
          stop: () => s.stop(),
        }))
      : await startCluster({ size, extraConfig: natsMappings(shards) });
  t.teardown(() => cluster.stop());
  const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1 });
  t.teardown(() => nc.close());
  await initCluster(nc, { shards, replicas: opts.replicas ?? 1, leaseTtlMs: opts.leaseTtlMs ?? 2000 });
  return { cluster, nc, url: cluster.urls.join(","), shards };
}

/**
 * Longest one `clusterStatus` poll may take. It usually answers in well under a second,
 * but on a busy machine single calls were seen never to settle (its one step without a
 * deadline is the `kv.keys()` listing of the members bucket, which heartbeats keep
 * writing to); the next poll starts afresh instead of using up the whole deadline.
 */
export const STATUS_ATTEMPT_MS = 10_000;

/**
 * Waits until the leases give every shard an owner among `members`, each of them
 * holding ⌊P/N⌋ or ⌈P/N⌉, and every owner reports the shard as applied.
 */
export async function waitBalanced(nc: NatsConnection, members: string[], timeoutMs = 60_000): Promise<ClusterStatus> {
  let last: ClusterStatus | undefined;
  const wait = waitFor(
    async () => {
      const st = await clusterStatus(nc, { memberTimeoutMs: 1500 });
      last = st;
      const counts = members.map((m) => st.shards.filter((s) => s.owner === m).length);
      const lo = Math.floor(st.config.shards / members.length);
      return (
        st.shards.every((s) => s.owner !== undefined && members.includes(s.owner) && s.appliedSeq !== undefined) &&
        counts.every((c) => c === lo || c === lo + 1)
      );
    },
    {
      timeoutMs,
      intervalMs: 100,
      // clusterStatus can hang (see STATUS_ATTEMPT_MS); a stuck call must not use up the deadline.
      attemptTimeoutMs: STATUS_ATTEMPT_MS,
      message: `shards balanced over ${members.join(",")}`,
    },
  );
  await wait.catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; owners last seen: ${JSON.stringify(last?.shards.map((s) => s.owner))}`);
  });
  return last!;
}
