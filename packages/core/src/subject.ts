import { ErrorCode, EventError, TallyError, preview } from "./errors.js";
import { MAX_SHARDS } from "./partition.js";
import { isWellFormed, utf8ByteLength } from "./utf8.js";

/** Producers publish events on `count.<ns>.<name>`. */
export const EVENT_PREFIX = "count";
/** The server maps events to `tally.ev.<shard>.<ns>.<name>`, the subjects the stream stores. */
export const STORED_EVENT_PREFIX = "tally.ev";
/** Readers send requests to `count.get.<ns>.<name>`. */
export const READ_PREFIX = "count.get";
/** The server maps reads to `tally.rd.<shard>.<ns>.<name>`, served by the shard's owner. */
export const STORED_READ_PREFIX = "tally.rd";
/** Dead-letter records of invalid stored events live under `tally.dlq.…`. */
export const DLQ_PREFIX = "tally.dlq";

const SHARD_TOKEN = /^(?:0|[1-9][0-9]{0,3})$/;

/** Longest token, in UTF-8 bytes. */
export const MAX_TOKEN_BYTES = 255;

/**
 * Namespaces that cannot hold counters because their subjects are taken by the read API
 * (`count.get.…`, `count.top.…`, `count.list.…`). Namespaces starting with `_` are reserved
 * too, for Tally's own probes.
 */
export const RESERVED_NAMESPACES = ["get", "top", "list"] as const;

/** Which token of a counter key: its namespace or its name. */
export type TokenKind = "ns" | "name";

/** A stored subject (`tally.ev.<shard>.<ns>.<name>` or `tally.rd.…`) taken apart. */
export interface StoredKey {
  shard: number;
  ns: string;
  name: string;
}

/** Options of {@link eventSubject} and {@link readSubject}. */
export interface SubjectOptions {
  /**
   * Allow a reserved namespace (Tally's internal probes use `_…` namespaces).
   * @default false
   */
  allowReserved?: boolean;
}

// `.` `*` `>` split or wildcard a subject; whitespace and control characters break the
// protocol line. `\s` also covers Unicode spaces, which are confusing in names.
// eslint-disable-next-line no-control-regex -- control characters are what it rejects
const FORBIDDEN = /[.*>\s\x00-\x1f\x7f]/;

/** Why `s` is not a valid token, or undefined when it is. */
function tokenProblem(s: unknown): string | undefined {
  if (typeof s !== "string") return "is not a string";
  if (s.length === 0) return "is empty";
  const bytes = utf8ByteLength(s);
  if (bytes > MAX_TOKEN_BYTES) return `is ${bytes} bytes long, the limit is ${MAX_TOKEN_BYTES}`;
  const m = FORBIDDEN.exec(s);
  if (m !== null) {
    const ch = m[0];
    const shown =
      ch === "." || ch === "*" || ch === ">"
        ? `"${ch}"`
        : `U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
    return `contains ${shown} at index ${m.index} (forbidden: . * > whitespace, control characters; percent-encode names with encodeName)`;
  }
  if (!isWellFormed(s)) return "is not well-formed Unicode (lone surrogate)";
  return undefined;
}

/**
 * Whether `s` can be one subject token: 1–255 UTF-8 bytes, none of `.`, `*`, `>`,
 * whitespace or control characters, and well-formed Unicode.
 */
export function isValidToken(s: string): boolean {
  return tokenProblem(s) === undefined;
}

/** Throw an `EventError` (`BAD_SUBJECT`) naming the token and the reason unless `s` is a valid token. */
export function assertToken(kind: TokenKind, s: string): void {
  const problem = tokenProblem(s);
  if (problem !== undefined) {
    throw new EventError(ErrorCode.BAD_SUBJECT, `${kind} ${preview(s)} ${problem}`);
  }
}

/** Whether `ns` is reserved: one of {@link RESERVED_NAMESPACES} or starting with `_`. */
export function isReservedNamespace(ns: string): boolean {
  return ns.startsWith("_") || (RESERVED_NAMESPACES as readonly string[]).includes(ns);
}

function assertKey(ns: string, name: string, opts: SubjectOptions | undefined): void {
  assertToken("ns", ns);
  assertToken("name", name);
  if (opts?.allowReserved !== true && isReservedNamespace(ns)) {
    throw new EventError(
      ErrorCode.RESERVED_NAMESPACE,
      `namespace ${preview(ns)} is reserved (${RESERVED_NAMESPACES.join(", ")} and names starting with "_")`,
    );
  }
}

/**
 * The subject to publish an event on: `count.<ns>.<name>`.
 * Throws `EventError` `BAD_SUBJECT` for an invalid token, `RESERVED_NAMESPACE` for a
 * reserved namespace (unless `allowReserved`).
 *
 * @example
 * ```ts
 * eventSubject('web', encodeName('example.com/home')) // 'count.web.example%2Ecom/home'
 * ```
 */
export function eventSubject(ns: string, name: string, opts?: SubjectOptions): string {
  assertKey(ns, name, opts);
  return `${EVENT_PREFIX}.${ns}.${name}`;
}

/** The subject to send a read request to: `count.get.<ns>.<name>`. Validates as {@link eventSubject}. */
export function readSubject(ns: string, name: string, opts?: SubjectOptions): string {
  assertKey(ns, name, opts);
  return `${READ_PREFIX}.${ns}.${name}`;
}

function assertShard(shard: number): void {
  if (!Number.isInteger(shard) || shard < 0 || shard >= MAX_SHARDS) {
    throw new TallyError(
      ErrorCode.BAD_CONFIG,
      `shard must be an integer from 0 to ${MAX_SHARDS - 1}, got ${String(shard)}`,
    );
  }
}

/** Consumer filter for one shard's events: `tally.ev.<shard>.>`. */
export function shardEventFilter(shard: number): string {
  assertShard(shard);
  return `${STORED_EVENT_PREFIX}.${shard}.>`;
}

/** Every subject the events stream captures: `tally.ev.<s>.*.*` for each real shard `s`. */
export function storedEventSubjects(shards: number): string[] {
  return Array.from({ length: shards }, (_, s) => `${STORED_EVENT_PREFIX}.${s}.*.*`);
}

/** Subject of a shard's dead-letter records: `tally.dlq.<shard>`. */
export function dlqSubject(shard: number): string {
  assertShard(shard);
  return `${DLQ_PREFIX}.${shard}`;
}

/** What the dead-letter stream captures: `tally.dlq.>`. */
export const DLQ_FILTER = `${DLQ_PREFIX}.>`;

const STORED_EVENT_SHARD_AT = STORED_EVENT_PREFIX.length + 1;

/**
 * The shard token of a stored event subject `tally.ev.<shard>.…`, if it is a shard
 * number; cheap (no split), for routing a replayed event to its shard. Full
 * validation is {@link parseStoredEventSubject}'s job.
 */
export function storedEventShard(subject: string): number | undefined {
  if (!subject.startsWith(STORED_EVENT_PREFIX) || subject[STORED_EVENT_PREFIX.length] !== ".") return undefined;
  const end = subject.indexOf(".", STORED_EVENT_SHARD_AT);
  if (end <= STORED_EVENT_SHARD_AT) return undefined;
  const token = subject.slice(STORED_EVENT_SHARD_AT, end);
  return SHARD_TOKEN.test(token) && Number(token) < MAX_SHARDS ? Number(token) : undefined;
}

/** Subscription filter for one shard's reads: `tally.rd.<shard>.>`. */
export function shardReadFilter(shard: number): string {
  assertShard(shard);
  return `${STORED_READ_PREFIX}.${shard}.>`;
}

function parseStored(subject: string, kind: "ev" | "rd"): StoredKey {
  const parts = typeof subject === "string" ? subject.split(".") : [];
  const [p0, p1, s, ns, name] = parts;
  if (
    parts.length !== 5 ||
    p0 !== "tally" ||
    p1 !== kind ||
    s === undefined ||
    ns === undefined ||
    name === undefined
  ) {
    throw new EventError(ErrorCode.BAD_SUBJECT, `subject ${preview(subject)} is not tally.${kind}.<shard>.<ns>.<name>`);
  }
  const shard = SHARD_TOKEN.test(s) ? Number(s) : -1;
  if (shard < 0 || shard >= MAX_SHARDS) {
    throw new EventError(ErrorCode.BAD_SUBJECT, `subject ${preview(subject)} has an invalid shard ${preview(s)}`);
  }
  assertToken("ns", ns);
  assertToken("name", name);
  return { shard, ns, name };
}

/**
 * Take apart a stored event subject `tally.ev.<shard>.<ns>.<name>` (exactly 5 tokens,
 * shard a decimal integer below {@link MAX_SHARDS}). Throws `EventError` `BAD_SUBJECT`.
 * Does not check for reserved namespaces or the shard hash; the node does.
 */
export function parseStoredEventSubject(subject: string): StoredKey {
  return parseStored(subject, "ev");
}

/** Take apart a stored read subject `tally.rd.<shard>.<ns>.<name>`, as {@link parseStoredEventSubject}. */
export function parseStoredReadSubject(subject: string): StoredKey {
  return parseStored(subject, "rd");
}
