import { ErrorCode, EventError, RequestError, TallyError, preview } from "./errors.js";
import { isPlainRecord, messageOf } from "./guards.js";
import { isPeriod, PERIODS, type Period } from "./periods.js";
import { assertToken, isReservedNamespace, MAX_TOKEN_BYTES, RESERVED_NAMESPACES } from "./subject.js";
import { parseTime } from "./time.js";
import { strictUtf8Decoder, utf8ByteLength } from "./utf8.js";
import { MAX_READ_REQUEST_BYTES } from "./read-request.js";
import type { LogGapMark } from "./read-reply.js";

/** Readers ask for a namespace's top counters on `count.top.<ns>.<period>`. */
export const TOP_PREFIX = "count.top";
/** Readers list a namespace's names on `count.list.<ns>.<period>`. */
export const LIST_PREFIX = "count.list";
/** A node gathers a namespace read from each shard's owner on `tally.ns.<shard>` (nodes only). */
export const SHARD_QUERY_PREFIX = "tally.ns";

/** Largest `limit` of a top or list request. */
export const MAX_NAMESPACE_LIMIT = 1000;
/** `limit` of a top request that gives none. */
export const DEFAULT_TOP_LIMIT = 10;
/** `limit` of a list request (one page) that gives none. */
export const DEFAULT_LIST_LIMIT = 100;

/** Which namespace-wide read. */
export type NamespaceReadKind = "top" | "list";

/** One counter of a {@link TopReply}. */
export interface TopItem {
  /** Decoded, as `count.get` clients take it (`example.com`, not `example%2Ecom`). */
  name: string;
  value: number;
}

/** What every namespace-wide reply may add: whether it is short, and shards marked with a log gap. */
export interface GatherFlags {
  /** Some shard did not answer within the gather deadline: the reply is short by their counters. */
  partial?: true;
  /** The shards that did not answer (with `partial`). */
  missingShards?: number[];
  /** Shards whose values may miss events (see {@link LogGapMark}), by shard number. */
  logGaps?: Record<string, LogGapMark>;
}

/** Reply of `count.top.<ns>.<period>`: value descending, ties by name ascending. */
export interface TopReply extends GatherFlags {
  ns: string;
  period: Period;
  /** Start of the bucket (ISO-8601 UTC); absent for `all`. */
  bucket?: string;
  items: TopItem[];
}

/** Reply of `count.list.<ns>.<period>`: one page of names, sorted. */
export interface ListReply extends GatherFlags {
  ns: string;
  period: Period;
  /** Start of the bucket (ISO-8601 UTC); absent for `all`. */
  bucket?: string;
  /** Decoded names with a value in the bucket (for `all`: every name), ascending. */
  names: string[];
  /** Pass as `after` for the next page; absent on the last page. */
  next?: string;
}

/** A parsed top request. */
export interface TopRequest {
  kind: "top";
  /** Epoch ms inside the wanted bucket. */
  at: number;
  limit: number;
  minSeq?: number;
}

/** A parsed list request. */
export interface ListRequest {
  kind: "list";
  at: number;
  limit: number;
  /** Decoded prefix every name starts with ("" for all). */
  prefix: string;
  /** Decoded name after which the page starts ("" for the first page). */
  after: string;
  minSeq?: number;
}

/** A parsed namespace-wide request. */
export type NamespaceRequest = TopRequest | ListRequest;

/** A namespace-wide read subject taken apart. */
export interface NamespaceReadTarget {
  kind: NamespaceReadKind;
  ns: string;
  period: Period;
}

function assertNamespace(ns: string): void {
  assertToken("ns", ns);
  if (isReservedNamespace(ns)) {
    throw new EventError(
      ErrorCode.RESERVED_NAMESPACE,
      `namespace ${preview(ns)} is reserved (${RESERVED_NAMESPACES.join(", ")} and names starting with "_")`,
    );
  }
}

/** The subject of a top request: `count.top.<ns>.<period>`. Throws `EventError` for a bad or reserved namespace. */
export function topSubject(ns: string, period: Period): string {
  assertNamespace(ns);
  return `${TOP_PREFIX}.${ns}.${period}`;
}

/** The subject of a list request: `count.list.<ns>.<period>`. Validates as {@link topSubject}. */
export function listSubject(ns: string, period: Period): string {
  assertNamespace(ns);
  return `${LIST_PREFIX}.${ns}.${period}`;
}

/** The subject a shard's owner takes namespace queries on: `tally.ns.<shard>`. */
export function shardQuerySubject(shard: number): string {
  return `${SHARD_QUERY_PREFIX}.${shard}`;
}

function bad(message: string, cause?: unknown): RequestError {
  return new RequestError(ErrorCode.BAD_REQUEST, message, cause === undefined ? undefined : { cause });
}

/**
 * Takes apart `count.top.<ns>.<period>` or `count.list.<ns>.<period>`. Throws `RequestError`
 * `BAD_REQUEST` naming what is wrong (a reserved namespace, a period that does not exist).
 */
export function parseNamespaceReadSubject(subject: string): NamespaceReadTarget {
  const parts = subject.split(".");
  const kind = parts[1];
  if (parts.length !== 4 || parts[0] !== "count" || (kind !== "top" && kind !== "list")) {
    throw bad(`subject ${preview(subject)} is not count.top.<ns>.<period> or count.list.<ns>.<period>`);
  }
  const ns = parts[2]!;
  const period = parts[3]!;
  try {
    assertNamespace(ns);
  } catch (err) {
    throw bad(messageOf(err), err);
  }
  if (!isPeriod(period)) throw bad(`period ${preview(period)} is not one of ${PERIODS.join(", ")}`);
  return { kind, ns, period };
}

const TOP_KEYS: ReadonlySet<string> = new Set(["at", "limit", "minSeq"]);
const LIST_KEYS: ReadonlySet<string> = new Set(["at", "limit", "minSeq", "prefix", "after"]);

function requestObject(body: Uint8Array, kind: NamespaceReadKind): Record<string, unknown> {
  if (body.length > MAX_READ_REQUEST_BYTES) {
    throw bad(`${kind} request is ${body.length} bytes, the limit is ${MAX_READ_REQUEST_BYTES}`);
  }
  let text: string;
  try {
    text = strictUtf8Decoder.decode(body).trim();
  } catch (cause) {
    throw bad(`${kind} request is not UTF-8`, cause);
  }
  if (text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw bad(`${kind} request must be empty or a JSON object: ${messageOf(cause)}`, cause);
  }
  if (!isPlainRecord(value)) throw bad(`${kind} request must be empty or a JSON object, got ${preview(value)}`);
  const keys = kind === "top" ? TOP_KEYS : LIST_KEYS;
  for (const key of Object.keys(value)) {
    if (!keys.has(key))
      throw bad(`unknown key ${preview(key)} in ${kind} request; allowed keys: ${[...keys].join(", ")}`);
  }
  return value;
}

function limitOf(obj: Record<string, unknown>, fallback: number): number {
  if (!Object.hasOwn(obj, "limit")) return fallback;
  const v = obj["limit"];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_NAMESPACE_LIMIT) {
    throw bad(`limit ${preview(v)} must be an integer from 1 to ${MAX_NAMESPACE_LIMIT}`);
  }
  return v;
}

function common(obj: Record<string, unknown>, now: number): { at: number; minSeq?: number } {
  let at = now;
  if (Object.hasOwn(obj, "at")) {
    try {
      at = parseTime(obj["at"], "at");
    } catch (err) {
      throw err instanceof TallyError ? bad(err.message, err) : err;
    }
  }
  if (!Object.hasOwn(obj, "minSeq")) return { at };
  const s = obj["minSeq"];
  if (typeof s !== "number" || !Number.isSafeInteger(s) || s < 0) {
    throw bad(`minSeq ${preview(s)} must be a non-negative integer stream sequence`);
  }
  return { at, minSeq: s };
}

/** A decoded name argument (`prefix`, `after`): a string of at most 255 UTF-8 bytes. */
function nameArg(obj: Record<string, unknown>, key: "prefix" | "after"): string {
  if (!Object.hasOwn(obj, key)) return "";
  const v = obj[key];
  if (typeof v !== "string") throw bad(`${key} ${preview(v)} must be a string (a decoded name)`);
  const bytes = utf8ByteLength(v);
  if (bytes > MAX_TOKEN_BYTES) throw bad(`${key} is ${bytes} bytes long; no name is longer than ${MAX_TOKEN_BYTES}`);
  return v;
}

/**
 * Parses the body of `count.top.<ns>.<period>`: empty, or `{"at","limit","minSeq"}`.
 * Throws `RequestError` `BAD_REQUEST` naming the offending key.
 * @param now - epoch ms used when `at` is absent.
 */
export function parseTopRequest(body: Uint8Array, now: number): TopRequest {
  const obj = requestObject(body, "top");
  return { kind: "top", ...common(obj, now), limit: limitOf(obj, DEFAULT_TOP_LIMIT) };
}

/**
 * Parses the body of `count.list.<ns>.<period>`: empty, or
 * `{"at","prefix","limit","after","minSeq"}`. Throws `RequestError` `BAD_REQUEST`.
 */
export function parseListRequest(body: Uint8Array, now: number): ListRequest {
  const obj = requestObject(body, "list");
  return {
    kind: "list",
    ...common(obj, now),
    limit: limitOf(obj, DEFAULT_LIST_LIMIT),
    prefix: nameArg(obj, "prefix"),
    after: nameArg(obj, "after"),
  };
}

/** Name order of every namespace-wide reply: JavaScript string order of the decoded names. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Top order: value descending, then name ascending. */
export function compareTopItems(a: TopItem, b: TopItem): number {
  return b.value - a.value || compareNames(a.name, b.name);
}

/**
 * The top `limit` of the union of each shard's top `limit`. Exact, because a counter
 * lives whole on one shard: any item of the overall top is in its shard's top.
 */
export function mergeTop(perShard: readonly (readonly TopItem[])[], limit: number): TopItem[] {
  return perShard.flat().sort(compareTopItems).slice(0, limit);
}

/** One shard's page of a list: its first names after the cursor, and whether it has more. */
export interface ShardListPage {
  names: string[];
  more: boolean;
}

/**
 * The first `limit` names of the union of each shard's page (each sorted, each the
 * shard's first `limit` names after the cursor), and the cursor of the next page: the
 * last name, when any shard has names beyond it.
 */
export function mergeList(perShard: readonly ShardListPage[], limit: number): { names: string[]; next?: string } {
  const all = perShard.flatMap((p) => p.names).sort(compareNames);
  const names = all.slice(0, limit);
  const more = all.length > limit || perShard.some((p) => p.more);
  return more && names.length > 0 ? { names, next: names[names.length - 1]! } : { names };
}

/** A namespace query as sent from the gathering node to one shard's owner (internal). */
export interface ShardQuery {
  kind: NamespaceReadKind;
  ns: string;
  period: Period;
  /** 0 for `all`, else the bucket key. */
  key: number;
  limit: number;
  prefix?: string;
  after?: string;
  minSeq?: number;
}

/** Parses a {@link ShardQuery} body (sent by a node: anything malformed is `BAD_REQUEST`). */
export function parseShardQuery(body: Uint8Array): ShardQuery {
  let v: unknown;
  try {
    v = JSON.parse(strictUtf8Decoder.decode(body));
  } catch (cause) {
    throw bad(`shard query is not JSON: ${messageOf(cause)}`, cause);
  }
  if (!isPlainRecord(v)) throw bad("shard query is not a JSON object");
  const { kind, ns, period, key, limit, prefix, after, minSeq } = v;
  const ok =
    (kind === "top" || kind === "list") &&
    typeof ns === "string" &&
    isPeriod(period) &&
    typeof key === "number" &&
    Number.isSafeInteger(key) &&
    typeof limit === "number" &&
    Number.isInteger(limit) &&
    limit >= 1 &&
    limit <= MAX_NAMESPACE_LIMIT &&
    (prefix === undefined || typeof prefix === "string") &&
    (after === undefined || typeof after === "string") &&
    (minSeq === undefined || (typeof minSeq === "number" && Number.isSafeInteger(minSeq) && minSeq >= 0));
  if (!ok) throw bad(`shard query ${preview(v)} is malformed`);
  const q: ShardQuery = { kind, ns, period, key, limit };
  if (prefix !== undefined) q.prefix = prefix;
  if (after !== undefined) q.after = after;
  if (minSeq !== undefined) q.minSeq = minSeq;
  return q;
}
