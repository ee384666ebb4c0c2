/**
 * The wire contract of namespace-wide reads (issue 9), as `@tally/core` will export it
 * from `namespace-reads.ts`.
 *
 * TODO(issue 9): once core's module is on main, delete this file and import `topSubject`,
 * `listSubject`, `TopItem`, `TopReply`, `ListReply` and the limits from `@tally/core`.
 */
import { assertToken, ErrorCode, EventError, isReservedNamespace, RESERVED_NAMESPACES, type Period } from "@tally/core";

/** Top-N requests go to `count.top.<ns>.<period>`. */
export const TOP_PREFIX = "count.top";
/** List requests go to `count.list.<ns>.<period>`. */
export const LIST_PREFIX = "count.list";
/** Largest `limit` of a top or list request. */
export const MAX_NAMESPACE_LIMIT = 1000;
/** `limit` of a top request that sets none. */
export const DEFAULT_TOP_LIMIT = 10;
/** `limit` of a list request that sets none. */
export const DEFAULT_LIST_LIMIT = 100;

/** One counter of a {@link TopReply}. */
export interface TopItem {
  /** Decoded, exactly as `get` takes it (e.g. `example.com`). */
  name: string;
  value: number;
}

/** The top counters of a namespace in one bucket. */
export interface TopReply {
  ns: string;
  period: Period;
  /** Start of the bucket (ISO-8601); absent for `all`. */
  bucket?: string;
  /** Value descending, ties by name ascending. */
  items: TopItem[];
  /** Some shard did not answer within the gather deadline: the items may be short. */
  partial?: true;
  missingShards?: number[];
}

/** One page of the names of a namespace that have a value in one bucket. */
export interface ListReply {
  ns: string;
  period: Period;
  bucket?: string;
  /** Decoded, sorted ascending (JavaScript string order). */
  names: string[];
  /** Cursor: pass it as `after` for the next page; absent on the last page. */
  next?: string;
  /** Some shard did not answer within the gather deadline: the page may be short. */
  partial?: true;
  missingShards?: number[];
}

function assertNamespace(ns: string): void {
  assertToken("ns", ns);
  if (isReservedNamespace(ns)) {
    throw new EventError(
      ErrorCode.RESERVED_NAMESPACE,
      `namespace ${JSON.stringify(ns)} is reserved (${RESERVED_NAMESPACES.join(", ")} and names starting with "_")`,
    );
  }
}

/** `count.top.<ns>.<period>`; throws `EventError` `BAD_SUBJECT` / `RESERVED_NAMESPACE` for a bad `ns`. */
export function topSubject(ns: string, period: Period): string {
  assertNamespace(ns);
  return `${TOP_PREFIX}.${ns}.${period}`;
}

/** `count.list.<ns>.<period>`; validates as {@link topSubject}. */
export function listSubject(ns: string, period: Period): string {
  assertNamespace(ns);
  return `${LIST_PREFIX}.${ns}.${period}`;
}
