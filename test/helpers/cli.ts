import { spawn } from "node:child_process";
import { trackProcess } from "@tally/testing";
import { ROOT } from "./cluster.js";
import { within } from "./deadline.js";

/** What one run of the `tally` CLI did. */
export interface CliRun {
  /** Exit code (or the signal's name). */
  code: number | string;
  stdout: string;
  stderr: string;
}

/** How long one CLI run may take before it is SIGKILLed (and the test fails). */
const RUN_TIMEOUT_MS = 60_000;

/**
 * Runs `tally <args>` (via tsx) to its end, with `input` on stdin, and resolves with its
 * exit code and output whatever the code (unlike `tallyCli`, which rejects on non-zero):
 * for tests of exit codes and error output. A run still going after a minute is killed
 * and rejects, so a hung command fails its test instead of hanging it.
 */
export async function runTally(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliRun> {
  const proc = spawn(process.execPath, ["--import", "tsx", "packages/cli/src/bin.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  trackProcess(proc); // SIGKILLed when this test process exits, even after an ava timeout
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
  proc.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | string>((resolve) =>
    proc.once("close", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  proc.stdin.on("error", () => undefined); // a command that exits early closes its stdin
  proc.stdin.end(opts.input ?? "");
  try {
    const code = await within(exited, RUN_TIMEOUT_MS, `tally ${args.join(" ")} to exit`);
    return { code, stdout, stderr };
  } catch (err) {
    proc.kill("SIGKILL");
    throw new Error(`${(err as Error).message}; stderr so far:\n${stderr.slice(-2000)}`, { cause: err });
  }
}
