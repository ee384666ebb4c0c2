/**
 * `@tally/core`: the pure parts of Tally shared by the node, the client and the CLI —
 * subjects, the partition hash, periods and buckets, event and read-request decoding, and
 * errors. No I/O, no environment.
 * @packageDocumentation
 */

export {
  ErrorCode,
  EventError,
  RETRYABLE_CODES,
  RequestError,
  TallyError,
  isRetryableCode,
  serviceStatus,
} from "./errors.js";
export type { EventErrorCode, RequestErrorOptions, TallyErrorOptions } from "./errors.js";

export {
  DLQ_FILTER,
  DLQ_PREFIX,
  EVENT_PREFIX,
  MAX_TOKEN_BYTES,
  READ_PREFIX,
  RESERVED_NAMESPACES,
  STORED_EVENT_PREFIX,
  STORED_READ_PREFIX,
  assertToken,
  dlqSubject,
  eventSubject,
  isReservedNamespace,
  isValidToken,
  parseStoredEventSubject,
  parseStoredReadSubject,
  readSubject,
  shardEventFilter,
  shardReadFilter,
  storedEventShard,
  storedEventSubjects,
} from "./subject.js";
export type { StoredKey, SubjectOptions, TokenKind } from "./subject.js";

export { decodeName, encodeName } from "./name-encoding.js";

export { DEFAULT_SHARDS, MAX_SHARDS, assertShardCount, fnv1a32, shardOf } from "./partition.js";
export { assignShards, balanceShards, planShards, rendezvousOwner, rendezvousScore } from "./assignment.js";
export type { Plan, PlanInput } from "./assignment.js";

export {
  DEFAULT_PERIODS,
  PERIODS,
  Period,
  PeriodCode,
  bucketIndex,
  bucketKey,
  bucketStart,
  isPeriod,
  parsePeriods,
  seriesIndices,
  splitBucketKey,
} from "./periods.js";
export type { BucketPeriod } from "./periods.js";

export { MAX_TS_MS, MIN_TS_MS, parseTime } from "./time.js";

export { MAX_EVENT_BYTES, decodeEvent, encodeEvent, encodeEventJson } from "./event.js";
export type { DecodedEvent } from "./event.js";

export { MAX_READ_REQUEST_BYTES, parseReadRequest } from "./read-request.js";
export type { ReadRequest, SeriesRequest, ValueRequest } from "./read-request.js";

export { bucketIso } from "./read-reply.js";
export type { ErrorReply, LogGapMark, SeriesPoint, SeriesReply, ValueReply } from "./read-reply.js";

export {
  DEFAULT_RETENTION,
  MAX_DURATION_MS,
  firstRetainedIndex,
  formatDuration,
  formatRetention,
  parseDuration,
  parseRetention,
  retainedFrom,
} from "./retention.js";
export type { Retention } from "./retention.js";

export { ALL_KEY, ShardCounts } from "./shard-counts.js";
export { ChangeConsumer, ChangeTake } from "./count-changes.js";
export type { CountEntry } from "./shard-counts.js";

export { backoffMs, sleep } from "./backoff.js";
export type { BackoffOptions } from "./backoff.js";

export {
  DEFAULT_LIST_LIMIT,
  DEFAULT_TOP_LIMIT,
  LIST_PREFIX,
  MAX_NAMESPACE_LIMIT,
  SHARD_QUERY_PREFIX,
  TOP_PREFIX,
  compareNames,
  compareTopItems,
  listSubject,
  mergeList,
  mergeTop,
  parseListRequest,
  parseNamespaceReadSubject,
  parseShardQuery,
  parseTopRequest,
  shardQuerySubject,
  topSubject,
} from "./namespace-reads.js";
export type {
  GatherFlags,
  ListReply,
  ListRequest,
  NamespaceReadKind,
  NamespaceReadTarget,
  NamespaceRequest,
  ShardListPage,
  ShardQuery,
  TopItem,
  TopReply,
  TopRequest,
} from "./namespace-reads.js";
export { listOfShard, topOfShard } from "./namespace-scan.js";
export type { NamespaceCounters } from "./namespace-scan.js";
