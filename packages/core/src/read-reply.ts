import type { BucketPeriod, Period } from "./periods.js";
import { bucketStart } from "./periods.js";

/** Reply to a single-bucket read. */
export interface ValueReply {
  ns: string;
  name: string;
  period: Period;
  /** Start of the bucket as an ISO-8601 UTC string (see {@link bucketIso}); absent for `all`. */
  bucket?: string;
  value: number;
  /** Present while the counter's shard is marked with a log gap: see {@link LogGapMark}. */
  logGap?: LogGapMark;
}

/** One bucket of a {@link SeriesReply}. */
export interface SeriesPoint {
  /** Start of the bucket as an ISO-8601 UTC string. */
  bucket: string;
  value: number;
}

/**
 * Reply to a series read: every retained bucket in the range, zero-filled, oldest
 * first. A range that reaches before the period's retention holds only the retained
 * buckets, and `retainedFrom` says where they start.
 */
export interface SeriesReply {
  ns: string;
  name: string;
  period: Period;
  /** Start (ISO-8601) of the oldest retained bucket; only when the range reached before it. */
  retainedFrom?: string;
  points: SeriesPoint[];
  /** Present while the counter's shard is marked with a log gap: see {@link LogGapMark}. */
  logGap?: LogGapMark;
}

/**
 * A shard's log gap mark, in every success reply of the shard while it lasts: the
 * shard was restored from a state older than the event log's first event, so its
 * events with sequence `restoredSeq + 1 … logFirstSeq - 1` may be missing from the
 * value (a bounded log dropped them before a checkpoint held them). The reply also
 * carries a `Tally-Warning` header. An operator clears it with `tally accept-gap`.
 */
export interface LogGapMark {
  restoredSeq: number;
  logFirstSeq: number;
}

/**
 * Error reply body. It is sent with the NATS services headers `Nats-Service-Error-Code`
 * (see `serviceStatus`) and `Nats-Service-Error`.
 */
export interface ErrorReply {
  error: { code: string; message: string };
}

/**
 * Start of bucket `index` of `period` as an ISO-8601 UTC string, as used in replies.
 *
 * @example
 * ```ts
 * bucketIso('day', 20413) // '2025-11-21T00:00:00.000Z'
 * ```
 */
export function bucketIso(period: BucketPeriod, index: number): string {
  return new Date(bucketStart(period, index)).toISOString();
}
