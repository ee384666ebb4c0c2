import { TallyError, type TallyErrorOptions } from "@tally/core";

/** Codes a client raises besides the server's own error codes. */
export const ClientErrorCode = {
  /** No stream captured the publish: mapping missing or `tally init` not run. */
  NO_STREAM: "NO_STREAM",
  /** No node answered the read in time. */
  NO_RESPONDERS: "NO_RESPONDERS",
  /** The reply was not what the contract promises. */
  BAD_REPLY: "BAD_REPLY",
  /** The NATS connection was closed (or is draining): final, never retried. */
  CONNECTION_CLOSED: "CONNECTION_CLOSED",
  /** A namespace-wide read stayed partial (some shard did not answer) past the retry deadline. */
  PARTIAL: "PARTIAL",
  /** A publish failed for a reason that may pass (the connection was lost, JetStream was unavailable). */
  PUBLISH_FAILED: "PUBLISH_FAILED",
  /** JetStream refused the publish (a stream limit, a bad header): retrying will not help. */
  PUBLISH_REJECTED: "PUBLISH_REJECTED",
  /** An explicit message id is not a non-empty header value. */
  BAD_MSG_ID: "BAD_MSG_ID",
  /** A client or batcher option is out of range. */
  BAD_OPTION: "BAD_OPTION",
  /** `add()` after the batcher's `close()`. */
  BATCHER_CLOSED: "BATCHER_CLOSED",
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Options of {@link ClientError}. */
export interface ClientErrorOptions extends TallyErrorOptions {
  /** @default false */
  retryable?: boolean;
  /** Shards that did not answer a namespace-wide read (code `PARTIAL`). */
  missingShards?: number[];
}

/** An error from a Tally server reply or from the client itself. */
export class ClientError extends TallyError {
  /** Whether retrying the same call may succeed. */
  readonly retryable: boolean;
  /** For `PARTIAL`: the shards whose owners did not answer in time. */
  readonly missingShards: number[] | undefined;

  constructor(code: string, message: string, options?: ClientErrorOptions) {
    super(code, message, options);
    this.name = "ClientError";
    this.retryable = options?.retryable ?? false;
    this.missingShards = options?.missingShards;
  }
}
