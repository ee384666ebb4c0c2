import { execFile, spawn, type ChildProcess } from "node:child_process";
import { get } from "node:http";
import { closeSync, openSync } from "node:fs";
import { copyFile, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ExecutionContext } from "ava";
import { findNatsServer, tempDir, trackProcess, waitFor } from "@tally/testing";
import { freePorts, getJson } from "../../packages/testing/src/net-util.js";
import { logTail } from "../../packages/testing/src/server-process.js";
import { ROOT } from "./cluster.js";
import { within } from "./deadline.js";
import { DEPLOY, deployFile, loopbackNatsConfig, parseEnvFile } from "./deploy-files.js";

const execFileAsync = promisify(execFile);

/** The built CLI: what systemd and Kubernetes run. */
export const DIST_BIN = join(ROOT, "packages", "cli", "dist", "bin.js");

/**
 * Runs `pnpm build` (scripts/build.mjs: tsc -b, incremental) so the test runs the code
 * as it is now. Rejects with tsc's output when the build fails.
 */
export async function buildDist(): Promise<void> {
  try {
    await execFileAsync(process.execPath, [join(ROOT, "scripts", "build.mjs")], {
      cwd: ROOT,
      timeout: 240_000,
      killSignal: "SIGKILL",
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`pnpm build failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`, { cause: err });
  }
}

/**
 * The environment of a production process: this one's without NODE_OPTIONS (no tsx, no
 * loader hooks), plus `env`.
 */
export function productionEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  delete base.NODE_OPTIONS;
  return { ...base, ...env };
}

/** Runs the built CLI to its end with plain `node`; rejects on a non-zero exit. */
export async function runDist(args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [DIST_BIN, ...args], {
    cwd: ROOT,
    env: productionEnv(env),
    timeout: 120_000,
    killSignal: "SIGKILL",
  });
  return stdout;
}

/** Three nats-servers started from deploy/nats-cluster.conf. */
export interface ConfigCluster {
  urls: string[];
  /** The passwords tally-auth.conf read from the servers' environment (systemd/nats-auth.env's variables). */
  passwords: Record<string, string>;
  monitorUrls: string[];
  /** The rewritten configs, for a failing test's log. */
  configs: string[];
}

/**
 * Starts the 3-server cluster of deploy/nats-cluster.conf (and its tally-mappings.conf,
 * as written) on loopback, with only ports and the store dir rewritten, and
 * NATS_SERVER_NAME set as systemd/nats-server.service sets it. Resolves once every server
 * names the same JetStream meta leader of 3 peers. Stopped in teardown.
 */
export async function startConfigCluster(t: ExecutionContext): Promise<ConfigCluster> {
  const size = 3;
  const bin = findNatsServer();
  const [clientPorts, monitorPorts, routePorts] = [await freePorts(size), await freePorts(size), await freePorts(size)];
  const text = deployFile("nats-cluster.conf");
  // nats-auth.env's variables, each with a random password, as systemd hands them over.
  const passwords = Object.fromEntries(
    Object.keys(parseEnvFile(deployFile("systemd/nats-auth.env"))).map((k) => [
      k,
      `t${randomBytes(12).toString("hex")}`,
    ]),
  );
  const servers: { proc: ChildProcess; exited: Promise<unknown>; log: string }[] = [];
  t.teardown(async () => {
    for (const s of servers) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill("SIGTERM");
    await Promise.all(
      servers.map((s) =>
        within(s.exited, 15_000, "nats-server to exit").catch(() => {
          s.proc.kill("SIGKILL");
        }),
      ),
    );
  });
  const configs: string[] = [];
  for (let i = 0; i < size; i++) {
    const dir = await tempDir(`tally-deploy-nats-${i + 1}-`);
    t.teardown(() => dir.remove());
    const config = loopbackNatsConfig(text, {
      client: clientPorts[i]!,
      monitor: monitorPorts[i]!,
      cluster: routePorts[i]!,
      routes: routePorts,
      storeDir: join(dir.path, "store"),
    });
    configs.push(config);
    const configFile = join(dir.path, "nats-cluster.conf");
    await writeFile(configFile, config);
    await copyFile(join(DEPLOY, "tally-mappings.conf"), join(dir.path, "tally-mappings.conf"));
    await copyFile(join(DEPLOY, "tally-auth.conf"), join(dir.path, "tally-auth.conf"));
    const log = join(dir.path, "nats-server.log");
    const fd = openSync(log, "a");
    let proc: ChildProcess;
    try {
      proc = spawn(bin, ["-c", configFile], {
        stdio: ["ignore", fd, fd],
        env: { ...process.env, ...passwords, NATS_SERVER_NAME: `nats-${i + 1}` },
      });
    } finally {
      closeSync(fd);
    }
    trackProcess(proc);
    servers.push({ proc, exited: new Promise((resolve) => proc.once("exit", resolve)), log });
  }
  const monitorUrls = monitorPorts.map((p) => `http://127.0.0.1:${p}`);
  try {
    await waitFor(
      async () => {
        for (const [i, s] of servers.entries())
          if (s.proc.exitCode !== null) throw new Error(`nats-${i + 1} exited (${s.proc.exitCode})`);
        const metas = await Promise.all(
          monitorUrls.map(async (u) => ((await getJson(`${u}/jsz`)) as Jsz).meta_cluster),
        );
        const leaders = new Set(metas.map((m) => m?.leader));
        return leaders.size === 1 && metas[0]?.leader && metas.every((m) => m?.cluster_size === size);
      },
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        message: "a JetStream meta leader agreed by the 3 servers of nats-cluster.conf",
      },
    );
  } catch (err) {
    const tails = await Promise.all(servers.map(async (s, i) => `nats-${i + 1}:\n${await logTail(s.log, 10)}`));
    throw new Error(`${(err as Error).message}\n${tails.join("\n")}`, { cause: err });
  }
  return { urls: clientPorts.map((p) => `nats://127.0.0.1:${p}`), passwords, monitorUrls, configs };
}

interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
}

/** A Tally node started from systemd/tally-node.service's command line. */
export interface DistNode {
  readonly id: string;
  readonly proc: ChildProcess;
  readonly httpPort: number;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  stderr(): string;
}

/** Spawns `argv` (a node's command line) with plain node; SIGKILLed in teardown if still running. */
export function spawnDistNode(
  t: ExecutionContext,
  id: string,
  httpPort: number,
  argv: string[],
  env: Record<string, string>,
): DistNode {
  const [command, ...args] = argv;
  const proc = spawn(command!, args, { cwd: ROOT, env: productionEnv(env), stdio: ["ignore", "ignore", "pipe"] });
  trackProcess(proc);
  let err = "";
  proc.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | string>((resolve) =>
    proc.once("exit", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGKILL");
      await within(exited, 10_000, `node ${id} to exit after SIGKILL`);
    }
  });
  return { id, proc, httpPort, exited, stderr: () => err.slice(-3000) };
}

/** Resolves once the node's `/readyz` answers 200; rejects with its log if it exits first. */
export async function waitReady(node: DistNode, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    async () => {
      if (node.proc.exitCode !== null) throw new Error(`node ${node.id} exited (${node.proc.exitCode})`);
      return (await httpStatus(`http://127.0.0.1:${node.httpPort}/readyz`)) === 200;
    },
    { timeoutMs, intervalMs: 250, message: `node ${node.id}'s /readyz to answer 200` },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; its log:\n${node.stderr()}`, { cause: err });
  });
}

/** The status code of a GET (no keep-alive: no socket outlives the call). */
export function httpStatus(url: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}
