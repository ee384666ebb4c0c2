import { TallyError, type TallyErrorOptions } from "@tally/core";

/**
 * Stable codes carried by {@link TestingError}; tests and callers branch on these, never on
 * the message text.
 */
export const TestingErrorCode = {
  /** No usable nats-server binary (NATS_SERVER_BIN wrong, or nothing on PATH). */
  NatsServerNotFound: "NATS_SERVER_NOT_FOUND",
  /** nats-server exited early or never wrote its ports file. */
  ServerStartFailed: "SERVER_START_FAILED",
  /** `restart()` on a server whose `stop()` already ran. */
  ServerStopped: "SERVER_STOPPED",
  /** A cluster did not become ready (no agreed JetStream meta leader / routes). */
  ClusterNotReady: "CLUSTER_NOT_READY",
  /** {@link waitFor} reached its deadline. */
  WaitTimeout: "WAIT_TIMEOUT",
  /** An option was out of range or of the wrong type. */
  BadOption: "BAD_OPTION",
} as const;

/** Union of the values of {@link TestingErrorCode}. */
export type TestingErrorCode = (typeof TestingErrorCode)[keyof typeof TestingErrorCode];

/** Options of the {@link TestingError} constructor. */
export interface TestingErrorOptions extends TallyErrorOptions {
  /** Log file of the nats-server involved, when there is one. */
  logFile?: string;
}

/**
 * The one error class of `@tally/testing`, a {@link TallyError} like every error of the
 * project: a stable `code`, a message that says what to do, and the underlying `cause`
 * when there is one.
 *
 * @example
 * if (err instanceof TallyError && err.code === TestingErrorCode.WaitTimeout) { … }
 */
export class TestingError extends TallyError {
  declare readonly code: TestingErrorCode;
  /** Log file of the nats-server involved, when there is one. */
  readonly logFile: string | undefined;

  constructor(code: TestingErrorCode, message: string, options: TestingErrorOptions = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TestingError";
    this.logFile = options.logFile;
  }
}
