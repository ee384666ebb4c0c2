import { NodeError } from "../errors.js";

/** Named steps of a write or a compaction, for {@link CheckpointsOptions.onStep}. */
export type CheckpointStep =
  /** A frame of a part was handed to the object store (`bytes` so far): the put is under way. */
  | "part-frame"
  /** The part object is stored; the manifest is not updated yet. */
  | "part-stored"
  /** The manifest names the new part; the parts it replaced are not deleted yet. */
  | "manifest-updated"
  /** One replaced part (or the version 1 object) was deleted; others may remain. */
  | "part-deleted"
  /** A read or compaction has the manifest and is about to fetch its parts. */
  | "manifest-read";

/** Options of `Checkpoints.open`. */
export interface CheckpointsOptions {
  /**
   * `needsCompaction` once a chain holds more parts than this (base included): bounds the
   * parts a restore reads. High enough that the bytes rule below decides in steady running
   * (16 made every shard rewrite its base every 16 intervals: 6 % of the state per interval).
   * @default 64
   */
  maxParts?: number;
  /** `needsCompaction` once the deltas' bytes exceed this multiple of the base's. @default 1 */
  compactRatio?: number;
  /**
   * Garbage is collected only once unchanged for this long (ms), so a put or manifest
   * update in progress is never broken; and a writer whose part took more than half of
   * it to store abandons the part rather than name it in the manifest. 0 is for tests
   * and tools that collect when no writer can be running.
   * @default 600000
   */
  gcGraceMs?: number;
  /**
   * Called (and awaited) at each named step of a read, write or compaction: lets a test
   * kill the process exactly there, or interleave another writer. Not for production use.
   */
  onStep?: (step: CheckpointStep, detail: { shard: number; bytes?: number }) => void | Promise<void>;
}

export type ResolvedCheckpointsOptions = Required<Omit<CheckpointsOptions, "onStep">> &
  Pick<CheckpointsOptions, "onStep">;

export const CHECKPOINTS_DEFAULTS = { maxParts: 64, compactRatio: 1, gcGraceMs: 600_000 } as const;

/** Fills defaults; `BAD_OPTION` naming the option for a value out of range. */
export function resolveCheckpointsOptions(opts: CheckpointsOptions = {}): ResolvedCheckpointsOptions {
  const r = { ...CHECKPOINTS_DEFAULTS, ...opts };
  if (!Number.isInteger(r.maxParts) || r.maxParts < 1)
    throw new NodeError("BAD_OPTION", `checkpoint maxParts must be an integer ≥ 1, got ${r.maxParts}`);
  if (!(r.compactRatio > 0))
    throw new NodeError("BAD_OPTION", `checkpoint compactRatio must be > 0, got ${r.compactRatio}`);
  if (!Number.isInteger(r.gcGraceMs) || r.gcGraceMs < 0)
    throw new NodeError("BAD_OPTION", `checkpoint gcGraceMs must be an integer ≥ 0, got ${r.gcGraceMs}`);
  return r;
}
