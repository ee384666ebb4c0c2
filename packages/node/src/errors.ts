import { TallyError } from "@tally/core";

/** Stable codes for errors raised by a node or by `tally init`. */
export const NodeErrorCode = {
  DATA_DIR_LOCKED: "DATA_DIR_LOCKED",
  DATA_DIR_MISMATCH: "DATA_DIR_MISMATCH",
  MAPPING_MISSING: "MAPPING_MISSING",
  MAPPING_MISMATCH: "MAPPING_MISMATCH",
  NOT_INITIALIZED: "NOT_INITIALIZED",
  CONFIG_MISMATCH: "CONFIG_MISMATCH",
  BAD_OPTION: "BAD_OPTION",
  REPLAY_FAILED: "REPLAY_FAILED",
  /** `tally verify` could not finish: the log could not be read or the nodes did not answer. */
  VERIFY_FAILED: "VERIFY_FAILED",
} as const;
export type NodeErrorCode = (typeof NodeErrorCode)[keyof typeof NodeErrorCode];

/** An error a node raises at start-up or during operation; `code` is stable. */
export class NodeError extends TallyError {
  constructor(code: NodeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "NodeError";
  }
}

/** Stable codes of {@link CheckpointError}. */
export const CheckpointErrorCode = {
  /** A writer with a lower lease epoch than the shard's checkpoint manifest: refused, nothing changed. */
  CHECKPOINT_FENCED: "CHECKPOINT_FENCED",
  /**
   * The manifest moved since this writer last saw it (or there is no chain to append a
   * delta to, or the write would move the chain backwards): refused, nothing changed;
   * write a base next.
   */
  CHECKPOINT_STALE: "CHECKPOINT_STALE",
  /** A part of the chain is missing or fails verification; whatever was loaded must be discarded. */
  CHECKPOINT_CORRUPT: "CHECKPOINT_CORRUPT",
  /** There is no checkpoint of the shard (nothing to compact). */
  CHECKPOINT_MISSING: "CHECKPOINT_MISSING",
  /** The part handed to `write()` is malformed (flat arrays of the wrong length, bad sequence). */
  CHECKPOINT_INVALID: "CHECKPOINT_INVALID",
} as const;
export type CheckpointErrorCode = (typeof CheckpointErrorCode)[keyof typeof CheckpointErrorCode];

/** An error of the shared checkpoints; `code` is stable, `shard` says which chain. */
export class CheckpointError extends TallyError {
  readonly shard: number;
  constructor(code: CheckpointErrorCode, shard: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "CheckpointError";
    this.shard = shard;
  }
}
