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
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** An error from a Tally server reply or from the client itself. */
export class ClientError extends TallyError {
  /** Whether retrying the same call may succeed. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options?: TallyErrorOptions & { retryable?: boolean }) {
    super(code, message, options);
    this.name = "ClientError";
    this.retryable = options?.retryable ?? false;
  }
}
