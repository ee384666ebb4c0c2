/**
 * Stable error codes. Replies, dead-letter records and tests use the code, never the message.
 *
 * The values are the same strings as the keys, so `ErrorCode.BAD_DELTA === 'BAD_DELTA'`.
 */
export const ErrorCode = {
  /** A subject or one of its tokens is malformed. */
  BAD_SUBJECT: "BAD_SUBJECT",
  /** An event body is not one of the accepted forms. */
  BAD_BODY: "BAD_BODY",
  /** An event body is larger than `MAX_EVENT_BYTES` (4096): refused unparsed. */
  BODY_TOO_LARGE: "BODY_TOO_LARGE",
  /** An event body starts like JSON (`{`) but is not valid UTF-8 / JSON. */
  BAD_JSON: "BAD_JSON",
  /** An event body starts like a MessagePack map but cannot be decoded. */
  BAD_MSGPACK: "BAD_MSGPACK",
  /** `delta` is not an integer. */
  BAD_DELTA: "BAD_DELTA",
  /** `delta` is an integer beyond ±`Number.MAX_SAFE_INTEGER`. */
  DELTA_OUT_OF_RANGE: "DELTA_OUT_OF_RANGE",
  /** `ts` has the wrong type or cannot be parsed. */
  BAD_TS: "BAD_TS",
  /** `ts` is outside 1970-01-01 .. 9999-12-31. */
  TS_OUT_OF_RANGE: "TS_OUT_OF_RANGE",
  /** An event was stored on a shard that its key does not hash to. */
  WRONG_SHARD: "WRONG_SHARD",
  /** The namespace is reserved (`get`, `top`, `list`, or starts with `_`). */
  RESERVED_NAMESPACE: "RESERVED_NAMESPACE",
  /** Applying the event would take a count beyond ±`Number.MAX_SAFE_INTEGER`. */
  COUNT_OVERFLOW: "COUNT_OVERFLOW",
  /** A configuration value is invalid (shard count, period list, …). */
  BAD_CONFIG: "BAD_CONFIG",
  /** A read request is malformed. */
  BAD_REQUEST: "BAD_REQUEST",
  /** The requested period is not kept for this namespace. */
  PERIOD_NOT_ENABLED: "PERIOD_NOT_ENABLED",
  /** The bucket asked for is older than its period's retention: its value is gone, not 0. */
  BUCKET_EXPIRED: "BUCKET_EXPIRED",
  /** A series request spans more buckets than allowed. */
  TOO_MANY_POINTS: "TOO_MANY_POINTS",
  /** The request could not be answered in time (e.g. `minSeq` not reached). */
  TIMEOUT: "TIMEOUT",
  /**
   * The shard already holds its limit of reads waiting for a sequence (`minSeq`, or its
   * replay after it was taken); retry once it has caught up.
   */
  TOO_MANY_WAITING: "TOO_MANY_WAITING",
  /** The shard is restoring or replaying and cannot answer yet. */
  NOT_READY: "NOT_READY",
  /** The node that got the request does not own the shard. */
  SHARD_NOT_OWNED: "SHARD_NOT_OWNED",
  /** A bug or an unexpected failure. */
  INTERNAL: "INTERNAL",
} as const;

/** One of the {@link ErrorCode} strings. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Codes an {@link EventError} can carry: reasons an event is dead-lettered. `INTERNAL`
 * covers an unexpected failure while applying an event.
 */
export type EventErrorCode =
  | typeof ErrorCode.BAD_SUBJECT
  | typeof ErrorCode.BAD_BODY
  | typeof ErrorCode.BODY_TOO_LARGE
  | typeof ErrorCode.BAD_JSON
  | typeof ErrorCode.BAD_MSGPACK
  | typeof ErrorCode.BAD_DELTA
  | typeof ErrorCode.DELTA_OUT_OF_RANGE
  | typeof ErrorCode.BAD_TS
  | typeof ErrorCode.TS_OUT_OF_RANGE
  | typeof ErrorCode.WRONG_SHARD
  | typeof ErrorCode.RESERVED_NAMESPACE
  | typeof ErrorCode.COUNT_OVERFLOW
  | typeof ErrorCode.INTERNAL;

/** Options accepted by every Tally error constructor. */
export interface TallyErrorOptions {
  /** The underlying error, kept as the standard `Error.cause`. */
  cause?: unknown;
}

/**
 * Base class of every error Tally throws on purpose. `code` is stable; match on it,
 * not on `message` or the class.
 *
 * @example
 * ```ts
 * if (err instanceof TallyError && err.code === ErrorCode.BAD_DELTA) { … }
 * ```
 */
export class TallyError extends Error {
  /** Stable machine-readable code, usually one of {@link ErrorCode}. */
  readonly code: string;

  constructor(code: string, message: string, options?: TallyErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TallyError";
    this.code = code;
  }
}

/**
 * A malformed or unacceptable event: bad subject, body, delta or timestamp. The node
 * dead-letters the event with this code; producers get it from client-side validation.
 */
export class EventError extends TallyError {
  declare readonly code: EventErrorCode;

  constructor(code: EventErrorCode, message: string, options?: TallyErrorOptions) {
    super(code, message, options);
    this.name = "EventError";
  }
}

/**
 * Codes that mean "the same request may succeed if sent again": a shard moving,
 * replaying or not yet caught up. Error replies carry `retryable` computed from this,
 * so clients need no list of their own.
 */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set<string>([
  ErrorCode.NOT_READY,
  ErrorCode.SHARD_NOT_OWNED,
  ErrorCode.TIMEOUT,
  ErrorCode.TOO_MANY_WAITING,
]);

/** Whether an error with this code is worth retrying (see {@link RETRYABLE_CODES}). */
export function isRetryableCode(code: string): boolean {
  return RETRYABLE_CODES.has(code);
}

/** Options of {@link RequestError}. */
export interface RequestErrorOptions extends TallyErrorOptions {
  /**
   * Whether the same request may succeed if sent again (e.g. during a shard handoff).
   * @default isRetryableCode(code)
   */
  retryable?: boolean;
}

/** A read request that cannot be answered; its code and message go into the error reply. */
export class RequestError extends TallyError {
  /** Whether the client should retry the same request. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options?: RequestErrorOptions) {
    super(code, message, options);
    this.name = "RequestError";
    this.retryable = options?.retryable ?? isRetryableCode(code);
  }
}

/**
 * HTTP-like status for the `Nats-Service-Error-Code` header of an error reply:
 * client mistakes (`BAD_*`, `PERIOD_NOT_ENABLED`, `TOO_MANY_POINTS`, `RESERVED_NAMESPACE`)
 * → 400, `TIMEOUT` → 408, `BUCKET_EXPIRED` → 410, `NOT_READY` / `SHARD_NOT_OWNED` /
 * `TOO_MANY_WAITING` → 503, anything else → 500.
 */
export function serviceStatus(code: string): number {
  if (code.startsWith("BAD_")) return 400;
  switch (code) {
    case ErrorCode.PERIOD_NOT_ENABLED:
    case ErrorCode.TOO_MANY_POINTS:
    case ErrorCode.RESERVED_NAMESPACE:
      return 400;
    case ErrorCode.TIMEOUT:
      return 408;
    case ErrorCode.BUCKET_EXPIRED:
      return 410;
    case ErrorCode.NOT_READY:
    case ErrorCode.SHARD_NOT_OWNED:
    case ErrorCode.TOO_MANY_WAITING:
      return 503;
    default:
      return 500;
  }
}

const PREVIEW_MAX = 60;

/**
 * Short printable form of an untrusted value for error messages: JSON-like, bigint-safe,
 * truncated so a huge body cannot blow up a log line or a dead-letter record.
 * @internal
 */
export function preview(value: unknown): string {
  let s: string;
  if (typeof value === "bigint") s = `${value}n`;
  else if (typeof value === "number") s = Object.is(value, -0) ? "-0" : String(value);
  else if (value === undefined) s = "undefined";
  else if (value instanceof Date) s = `Date(${Number.isNaN(value.getTime()) ? "invalid" : value.toISOString()})`;
  else {
    try {
      // undefined for functions and symbols, whatever the lib typings say
      const json = JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) as
        string | undefined;
      s = json ?? `<${typeof value}>`;
    } catch {
      s = Object.prototype.toString.call(value);
    }
  }
  return s.length > PREVIEW_MAX ? `${s.slice(0, PREVIEW_MAX)}…` : s;
}
