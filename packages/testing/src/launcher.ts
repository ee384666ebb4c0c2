import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TestingError, TestingErrorCode } from "./errors.js";
import { findNatsServer } from "./find-nats-server.js";
import { renderConfig, type ClusterSpec, type ConfigSpec } from "./server-config.js";
import { spawnServer, terminate, type ServerPorts, type ServerProcess } from "./server-process.js";
import { tempDir, type TempDir } from "./temp-dir.js";
import type { NatsServer, ServerOptions } from "./types.js";

/** {@link ServerOptions} with defaults filled in. */
export interface ResolvedServerOptions {
  extraConfig: string;
  jetstream: boolean;
  storeDir: string | undefined;
  workDir: string | undefined;
  port: number;
  debug: boolean;
}

/**
 * Fills defaults and rejects bad values, naming the option and the fix.
 * @throws {@link TestingError} `BAD_OPTION`
 */
export function resolveServerOptions(opts: ServerOptions = {}): ResolvedServerOptions {
  const { extraConfig = "", jetstream = true, storeDir, workDir, port = -1, debug = false } = opts;
  if (typeof extraConfig !== "string") badOption("extraConfig must be a string of nats-server config");
  if (typeof jetstream !== "boolean") badOption("jetstream must be a boolean");
  if (typeof debug !== "boolean") badOption("debug must be a boolean");
  if (storeDir !== undefined && (typeof storeDir !== "string" || storeDir === "")) {
    badOption("storeDir must be a non-empty path; leave it out for a temp dir");
  }
  if (workDir !== undefined && (typeof workDir !== "string" || workDir === "")) {
    badOption("workDir must be a non-empty path; leave it out for a temp dir");
  }
  if (!Number.isInteger(port) || port < -1 || port > 65535 || port === 0) {
    badOption(`port must be -1 (random) or 1..65535, got ${port}; 0 would make nats-server use 4222`);
  }
  return { extraConfig, jetstream, storeDir, workDir, port, debug };
}

export function badOption(message: string): never {
  throw new TestingError(TestingErrorCode.BadOption, message);
}

/**
 * Starts one nats-server on 127.0.0.1 (JetStream on, random client and monitoring ports,
 * temp store dir by default) and resolves once it listens. Stop it in teardown.
 *
 * @throws {@link TestingError} `NATS_SERVER_NOT_FOUND`, `BAD_OPTION`, `SERVER_START_FAILED`
 *   (with the tail of the server log)
 * @example
 * const ns = await startServer();
 * t.teardown(() => ns.stop());
 * const nc = await connect({ servers: ns.url });
 */
export async function startServer(opts: ServerOptions = {}): Promise<NatsServer> {
  return launch(resolveServerOptions(opts));
}

/** Extra settings a cluster member needs. */
export interface MemberSpec {
  serverName: string;
  cluster: ClusterSpec;
}

/** Starts a server from resolved options; cluster members pass `member`. */
export async function launch(opts: ResolvedServerOptions, member?: MemberSpec): Promise<NatsServer> {
  const bin = findNatsServer();
  const dir = opts.workDir
    ? await keptDir(opts.workDir)
    : await tempDir(member === undefined ? "tally-nats-" : `tally-nats-${member.serverName}-`);
  try {
    const storeDir = opts.storeDir ?? join(dir.path, "store");
    const portsFileDir = join(dir.path, "ports");
    await mkdir(storeDir, { recursive: true });
    await mkdir(portsFileDir, { recursive: true });
    const server = new LaunchedServer(bin, dir, opts.debug, {
      serverName: member?.serverName,
      port: opts.port,
      httpPort: -1,
      portsFileDir,
      jetstream: opts.jetstream,
      storeDir,
      cluster: member?.cluster,
      extraConfig: opts.extraConfig,
    });
    await server.start();
    return server;
  } catch (err) {
    await dir.remove();
    throw err;
  }
}

class LaunchedServer implements NatsServer {
  readonly storeDir: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly #bin: string;
  readonly #dir: TempDir;
  readonly #debug: boolean;
  #spec: ConfigSpec;
  #proc: ServerProcess | undefined;
  #ports: ServerPorts | undefined;
  #stopped = false;
  #stopping: Promise<void> | undefined;
  // Lifecycle operations run one at a time, in call order.
  #chain: Promise<unknown> = Promise.resolve();

  constructor(bin: string, dir: TempDir, debug: boolean, spec: ConfigSpec) {
    this.#bin = bin;
    this.#dir = dir;
    this.#debug = debug;
    this.#spec = spec;
    this.storeDir = spec.storeDir;
    this.configFile = join(dir.path, "nats-server.conf");
    this.logFile = join(dir.path, "nats-server.log");
  }

  get port(): number {
    return this.#requirePorts().client;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get monitorUrl(): string {
    return `http://127.0.0.1:${this.#requirePorts().monitor}`;
  }

  get pid(): number {
    return this.#proc?.pid ?? -1;
  }

  /** Spawns the process; the first start pins the ports it got into the config. */
  async start(): Promise<void> {
    await writeFile(this.configFile, renderConfig(this.#spec));
    const { proc, ports } = await spawnServer({
      bin: this.#bin,
      configFile: this.configFile,
      logFile: this.logFile,
      portsFileDir: this.#spec.portsFileDir,
      debug: this.#debug,
    });
    this.#proc = proc;
    this.#ports = ports;
    if (this.#spec.port !== ports.client || this.#spec.httpPort !== ports.monitor) {
      this.#spec = {
        ...this.#spec,
        port: ports.client,
        httpPort: ports.monitor,
      };
      await writeFile(this.configFile, renderConfig(this.#spec));
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#serialize(async () => {
      this.#stopped = true;
      if (this.#proc !== undefined) await terminate(this.#proc, "SIGTERM");
      await this.#dir.remove();
    });
    return this.#stopping;
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    return this.#serialize(async () => {
      if (this.#proc !== undefined) await terminate(this.#proc, signal);
    });
  }

  restart(): Promise<NatsServer> {
    return this.#serialize(async () => {
      if (this.#stopped) {
        throw new TestingError(
          TestingErrorCode.ServerStopped,
          "restart() after stop(): its dirs are gone; use kill() to stop a server you mean to restart",
        );
      }
      if (this.#proc !== undefined) await terminate(this.#proc, "SIGTERM");
      await this.start();
      return this;
    });
  }

  #requirePorts(): ServerPorts {
    // Handles are only given out after a successful first start.
    if (this.#ports === undefined) throw new Error("nats-server has not started");
    return this.#ports;
  }

  #serialize<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(op, op);
    this.#chain = run.catch(() => undefined);
    return run;
  }
}

/** A caller-owned work dir: config and log stay after stop; only the ports files go. */
async function keptDir(path: string): Promise<TempDir> {
  await mkdir(path, { recursive: true });
  return { path, remove: () => rm(join(path, "ports"), { recursive: true, force: true }) };
}
