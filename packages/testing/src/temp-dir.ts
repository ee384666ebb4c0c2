import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trackDir, untrackDir } from "./process-registry.js";

/** A directory made by {@link tempDir}. */
export interface TempDir {
  /** Absolute path of the directory. */
  readonly path: string;
  /** Removes the directory and everything in it; idempotent. */
  remove(): Promise<void>;
}

/**
 * Creates a fresh directory under the OS temp dir. It is also removed, best effort, when the
 * process exits, so a crashed test leaves nothing behind; call `remove()` in teardown anyway.
 *
 * @param prefix start of the directory name. @default "tally-"
 * @example
 * const dir = await tempDir("tally-db-");
 * t.teardown(() => dir.remove());
 */
export async function tempDir(prefix = "tally-"): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  trackDir(path);
  let removing: Promise<void> | undefined;
  return {
    path,
    remove() {
      removing ??= rm(path, { recursive: true, force: true }).then(() => untrackDir(path));
      return removing;
    },
  };
}
