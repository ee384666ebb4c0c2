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
