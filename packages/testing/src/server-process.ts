import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { open, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { TestingError, TestingErrorCode } from "./errors.js";
import { trackProcess } from "./process-registry.js";
import { waitFor } from "./wait-for.js";

/** How long a server gets to write its ports file before start is declared failed. */
const START_TIMEOUT_MS = 10_000;
/** How long SIGTERM (or any signal) gets before SIGKILL. */
export const EXIT_GRACE_MS = 10_000;

/** How a server process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all. */
  error?: Error;
}

/** One spawned nats-server process. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once the process has exited (or failed to spawn). */
  readonly exited: Promise<ExitInfo>;
  /** The exit, once it happened. */
  exitInfo(): ExitInfo | undefined;
}

/** Ports the server reported in its ports file. */
export interface ServerPorts {
  client: number;
  monitor: number;
}

/** What {@link spawnServer} needs. */
export interface SpawnSpec {
  bin: string;
  configFile: string;
  logFile: string;
  portsFileDir: string;
  debug: boolean;
}

/**
 * Spawns nats-server and waits until it has written its ports file (which it does only once
 * every listener is up and JetStream is enabled). On an early exit or a missing ports file it
 * kills the process and throws `SERVER_START_FAILED` with the tail of the log.
 */
export async function spawnServer(spec: SpawnSpec): Promise<{ proc: ServerProcess; ports: ServerPorts }> {
  const args = ["-c", spec.configFile];
  if (spec.debug) args.push("-DV");
  // The log file is handed to the child as its stdout/stderr: no pipes for us to drain, and
  // the log survives us.
  const fd = openSync(spec.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(spec.bin, args, { stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  trackProcess(child);
  let exit: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("exit", (code, signal) => {
      exit ??= { code, signal };
      resolve(exit);
    });
    child.once("error", (error) => {
      // After a failed spawn there may be no "exit" event.
      if (child.pid === undefined) {
        exit ??= { code: null, signal: null, error };
        resolve(exit);
      }
    });
  });
  const proc: ServerProcess = {
    child,
    pid: child.pid ?? -1,
    exited,
    exitInfo: () => exit,
  };

  let ports: ServerPorts | undefined;
  let failure: string;
  try {
    const outcome = await waitFor(
      async () => (exit !== undefined ? { exit } : await readPortsFile(spec.portsFileDir, proc.pid)),
      {
        timeoutMs: START_TIMEOUT_MS,
        intervalMs: 25,
        message: "the nats-server ports file",
      },
    );
    if ("client" in outcome) ports = outcome;
    failure = "exit" in outcome ? describeExit(outcome.exit) : "";
  } catch {
    failure = `it wrote no ports file within ${START_TIMEOUT_MS} ms`;
  }
  if (ports !== undefined) return { proc, ports };

  await terminate(proc, "SIGKILL");
  const tail = await logTail(spec.logFile);
  throw new TestingError(
    TestingErrorCode.ServerStartFailed,
    `nats-server (${spec.bin}) did not start: ${failure}. Config: ${spec.configFile}. ` +
      `Last lines of ${spec.logFile}:\n${tail}`,
    { logFile: spec.logFile, cause: exit?.error },
  );
}

/**
 * Sends `signal` and waits for the exit; escalates to SIGKILL after `graceMs`. Resolves at
 * once if the process already exited.
 */
export async function terminate(proc: ServerProcess, signal: NodeJS.Signals, graceMs = EXIT_GRACE_MS): Promise<void> {
  if (proc.exitInfo() !== undefined) return;
  proc.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    proc.exited.then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (!inTime) {
    proc.child.kill("SIGKILL");
    await proc.exited;
  }
}

/** The last `maxLines` lines of a log file (reads at most the last 8 KiB). */
export async function logTail(logFile: string, maxLines = 30): Promise<string> {
  try {
    const handle = await open(logFile, "r");
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 8192);
      const buf = Buffer.alloc(length);
      await handle.read(buf, 0, length, size - length);
      const lines = buf.toString("utf8").split("\n");
      if (lines.at(-1) === "") lines.pop();
      const tail = lines.slice(-maxLines).join("\n");
      return tail === "" ? "(log is empty)" : tail;
    } finally {
      await handle.close();
    }
  } catch (err) {
    return `(could not read the log: ${String(err)})`;
  }
}

/** Reads `<name>_<pid>.ports`; undefined while it is absent or half-written. */
async function readPortsFile(dir: string, pid: number): Promise<ServerPorts | undefined> {
  // The file is named after argv[0]'s basename, which we do not want to guess (symlinks).
  const name = (await readdir(dir)).find((f) => f.endsWith(`_${pid}.ports`));
  if (name === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(join(dir, name), "utf8"));
  } catch {
    return undefined;
  }
  const client = firstPort(parsed, "nats");
  const monitor = firstPort(parsed, "monitoring");
  return client !== undefined && monitor !== undefined ? { client, monitor } : undefined;
}

function firstPort(ports: unknown, key: string): number | undefined {
  if (typeof ports !== "object" || ports === null) return undefined;
  const urls: unknown = (ports as Record<string, unknown>)[key];
  if (!Array.isArray(urls) || typeof urls[0] !== "string") return undefined;
  const port = Number(new URL(urls[0]).port);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

function describeExit(exit: ExitInfo): string {
  if (exit.error !== undefined) return `it could not be spawned (${exit.error.message})`;
  if (exit.signal !== null) return `it was killed by ${exit.signal}`;
  return `it exited with code ${exit.code}`;
}
