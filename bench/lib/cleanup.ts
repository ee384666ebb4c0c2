/**
 * Cleanup of a benchmark run, on success, on error and on Ctrl-C: every child process is
 * stopped, then the registered cleanups (servers, connections, temp dirs) run, last first.
 */
import { tempDir, type TempDir } from "@tally/testing";
import { stopAllChildren } from "./child.js";

const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
let isHalted = false;

/** True once a cleanup has begun: loops and timers of the run should stop. */
export function halted(): boolean {
  return isHalted;
}

/** Registers `fn` to run at cleanup, before those registered earlier. */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

/** A temp dir removed at cleanup. */
export async function cleanTempDir(prefix: string): Promise<TempDir> {
  const d = await tempDir(prefix);
  onCleanup(() => d.remove());
  return d;
}

/**
 * Stops every child (5 s grace), then runs the cleanups, last registered first; a failing
 * cleanup is logged and the others still run. Concurrent and repeated calls share one run.
 */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    isHalted = true;
    await stopAllChildren(5000);
    for (const fn of cleanups.splice(0).reverse()) await fn().catch((err: unknown) => console.error("cleanup:", err));
  })();
  return cleaning;
}

/** After a {@link cleanupAll}, lets the next phase of a run register and clean up anew. */
export function resetCleanup(): void {
  cleaning = undefined;
  cleanups.length = 0;
  isHalted = false;
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

/**
 * Runs a benchmark's `main`; an error is printed and sets exit code 1. Cleans up either way.
 *
 * @example
 * await runBench(main);
 */
export async function runBench(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    process.exitCode = 1;
    console.error("bench failed:", err);
  } finally {
    await cleanupAll();
  }
}
