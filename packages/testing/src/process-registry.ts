import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";

// Everything this package spawned or created and has not cleaned up yet. A crashed or
// forgetful test must not leak nats-server processes or temp dirs, so an `exit` hook
// SIGKILLs and removes whatever is still here. `exit` handlers must be synchronous.
const liveProcesses = new Set<ChildProcess>();
const ownedDirs = new Set<string>();
let hooked = false;

function ensureExitHook(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const child of liveProcesses) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    for (const dir of ownedDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort: the process is exiting anyway
      }
    }
  });
}

/** Tracks a spawned process until it exits. */
export function trackProcess(child: ChildProcess): void {
  ensureExitHook();
  liveProcesses.add(child);
  child.once("exit", () => liveProcesses.delete(child));
  child.once("error", () => {
    if (child.pid === undefined) liveProcesses.delete(child);
  });
}

/** Tracks a directory to remove at exit unless {@link untrackDir} is called first. */
export function trackDir(path: string): void {
  ensureExitHook();
  ownedDirs.add(path);
}

/** Forgets a directory (it was removed, or ownership moved elsewhere). */
export function untrackDir(path: string): void {
  ownedDirs.delete(path);
}
