/**
 * `node --import tsx` child processes of the benchmarks, with their output split into lines
 * and their pino log lines kept, and a registry so that every one is stopped at the end.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { ROOT } from "./paths.js";
import { nowMs } from "./time.js";

/** A pino JSON log line of a child, timestamped ({@link nowMs}) when it arrived. */
export interface LogLine {
  at: number;
  msg: string;
  j: Record<string, unknown>;
}

interface Waiter<T> {
  pred: (l: T) => boolean;
  resolve: (l: T) => void;
}

const children = new Set<Child>();

/** Stops every child still running (SIGTERM, SIGKILL after `graceMs`); never rejects. */
export async function stopAllChildren(graceMs = 5000): Promise<void> {
  for (const c of [...children]) await c.stop(graceMs).catch(() => undefined);
}

/**
 * A `node` child (cwd: the repository root) whose stdout and stderr are split into lines. The
 * last 1000 lines are kept for {@link Child.waitLine}; lines that parse as a JSON object are
 * also kept, all of them, as {@link LogLine}s for {@link Child.waitLog}.
 *
 * @example
 * const echo = new Child("echo", ["--import", "tsx", "bench/echo.ts", "--nats", url]);
 * await echo.waitLine((l) => l === "ready", 60_000, "ready");
 */
export class Child {
  readonly proc: ChildProcess;
  readonly name: string;
  /** Resolves with the exit code, or the signal that ended the process. */
  readonly exited: Promise<number | string>;
  readonly logs: LogLine[] = [];
  /** Log lines at warn level or above, counted by message. */
  readonly warnings: Record<string, number> = {};
  #lines: string[] = [];
  #stderr = "";
  #lineWaiters: Waiter<string>[] = [];
  #logWaiters: Waiter<LogLine>[] = [];

  constructor(name: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.name = name;
    this.proc = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    children.add(this);
    this.exited = new Promise((resolve) =>
      this.proc.once("exit", (code, signal) => {
        children.delete(this);
        resolve(code ?? signal ?? -1);
      }),
    );
    let out = "";
    this.proc.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      let nl;
      while ((nl = out.indexOf("\n")) >= 0) {
        this.#line(out.slice(0, nl));
        out = out.slice(nl + 1);
      }
    });
    let err = "";
    this.proc.stderr!.on("data", (b: Buffer) => {
      const s = b.toString();
      this.#stderr = (this.#stderr + s).slice(-20_000);
      err += s;
      let nl;
      while ((nl = err.indexOf("\n")) >= 0) {
        this.#line(err.slice(0, nl));
        err = err.slice(nl + 1);
      }
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** The last 3000 characters of stderr, for error messages. */
  stderrTail(): string {
    return this.#stderr.slice(-3000);
  }

  #line(l: string): void {
    if (l.startsWith("{")) this.#logLine(l);
    this.#lines.push(l);
    if (this.#lines.length > 1000) this.#lines.shift();
    this.#lineWaiters = settle(this.#lineWaiters, l);
  }

  #logLine(l: string): void {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(l) as Record<string, unknown>;
    } catch {
      return; // not a log line
    }
    const msg = typeof j.msg === "string" ? j.msg : "?";
    if (typeof j.level === "number" && j.level >= 40) this.warnings[msg] = (this.warnings[msg] ?? 0) + 1;
    const line = { at: nowMs(), msg, j };
    this.logs.push(line);
    this.#logWaiters = settle(this.#logWaiters, line);
  }

  /** The first line (stdout or stderr, already seen or to come) matching `pred`. */
  waitLine(pred: (l: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    return this.#wait(this.#lines.find(pred), this.#lineWaiters, pred, timeoutMs, what);
  }

  /** The first log line (already seen or to come) matching `pred`. */
  waitLog(pred: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine> {
    return this.#wait(this.logs.find(pred), this.#logWaiters, pred, timeoutMs, what);
  }

  #wait<T>(
    seen: T | undefined,
    waiters: Waiter<T>[],
    pred: (l: T) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.stderrTail()}`)),
        timeoutMs,
      );
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code}) before ${what}\n${this.stderrTail()}`));
      });
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  async stop(graceMs = 15_000): Promise<number | string> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.exited;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Resolves the waiters whose predicate `l` matches; returns the others. */
function settle<T>(waiters: Waiter<T>[], l: T): Waiter<T>[] {
  return waiters.filter((w) => {
    if (!w.pred(l)) return true;
    w.resolve(l);
    return false;
  });
}
