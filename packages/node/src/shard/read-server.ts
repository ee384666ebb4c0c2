import type { Msg } from "@nats-io/transport-node";
import {
  RequestError,
  bucketIndex,
  bucketIso,
  bucketKey,
  firstRetainedIndex,
  formatDuration,
  isReservedNamespace,
  parseReadRequest,
  parseStoredReadSubject,
  seriesIndices,
  shardOf,
  type BucketPeriod,
  type Period,
  type ReadRequest,
  type ShardCounts,
} from "@tally/core";
import { respondJson, type ReplyAnnotation } from "../nats/replies.js";

/** A read request taken apart and checked against the shard that got it. */
export interface ShardRead {
  ns: string;
  name: string;
  req: ReadRequest;
  /** When it arrived (`performance.now()`), for `tally_read_seconds`. */
  receivedAt: number;
}

/** What answering a read needs to know about the cluster. */
export interface ReadSettings {
  shards: number;
  periods: readonly Period[];
  maxSeriesPoints: number;
}

/**
 * Parses a read that arrived on `tally.rd.<shard>.<ns>.<name>` for `shard`; throws a
 * {@link RequestError} (`BAD_REQUEST`, `PERIOD_NOT_ENABLED`, …) for anything wrong.
 */
export function parseShardRead(msg: Msg, shard: number, settings: ReadSettings): ShardRead {
  const key = parseStoredReadSubject(msg.subject);
  if (key.shard !== shard || shardOf(key.ns, key.name, settings.shards) !== shard) {
    throw new RequestError(
      "BAD_REQUEST",
      `${key.ns}.${key.name} is not on shard ${key.shard}: read count.get.<ns>.<name>`,
    );
  }
  if (isReservedNamespace(key.ns)) throw new RequestError("BAD_REQUEST", `namespace ${key.ns} is reserved`);
  const req = parseReadRequest(msg.data, Date.now());
  if (req.period !== "all" && !settings.periods.includes(req.period)) {
    throw new RequestError(
      "PERIOD_NOT_ENABLED",
      `period ${req.period} is not counted; enabled: ${settings.periods.join(", ")} (set with tally init --periods)`,
    );
  }
  return { ns: key.ns, name: key.name, req, receivedAt: performance.now() };
}

/**
 * Answers a parsed read from the shard's counts: a value or a zero-filled series.
 * Retention is applied by the clock at `nowMs`: a point read of an expired bucket is
 * `BUCKET_EXPIRED` (its value is gone, it is not 0), and a series that reaches before
 * retention holds the retained buckets only and says where they start (`retainedFrom`).
 * `annotation` (the shard's log gap mark, if any) is merged into every success reply.
 */
export function answerRead(
  msg: Msg,
  read: ShardRead,
  counts: ShardCounts,
  settings: ReadSettings,
  nowMs = Date.now(),
  annotation?: ReplyAnnotation,
): void {
  const respond = (body: object) => respondJson(msg, body, annotation);
  const { ns, name, req } = read;
  if (req.kind === "series") {
    if (req.period === "all") throw new RequestError("BAD_REQUEST", "period all has no series");
    const p = req.period;
    const keep = counts.retention[p];
    const first = firstRetainedIndex(p, keep, nowMs);
    const indices = seriesIndices(p, req.from, req.to, settings.maxSeriesPoints);
    const points = indices
      .filter((i) => i >= first)
      .map((i) => ({ bucket: bucketIso(p, i), value: counts.bucket(ns, name, bucketKey(p, i)) }));
    const clipped = points.length < indices.length;
    respond(
      clipped ? { ns, name, period: p, retainedFrom: bucketIso(p, first), points } : { ns, name, period: p, points },
    );
  } else if (req.period === "all") {
    respond({ ns, name, period: "all", value: counts.all(ns, name) });
  } else {
    const p = req.period;
    const i = bucketIndex(p, req.at);
    const keep = counts.retention[p];
    const first = firstRetainedIndex(p, keep, nowMs);
    if (i < first) throw bucketExpired(p, i, first, keep!);
    respond({ ns, name, period: p, bucket: bucketIso(p, i), value: counts.bucket(ns, name, bucketKey(p, i)) });
  }
}

/** `BUCKET_EXPIRED` for bucket `index` of `p`, older than the first retained one: what to do instead. */
export function bucketExpired(p: BucketPeriod, index: number, first: number, keepMs: number): RequestError {
  return new RequestError(
    "BUCKET_EXPIRED",
    `the ${p} bucket ${bucketIso(p, index)} has expired: ${p} buckets are kept for ${formatDuration(keepMs)} after they end ` +
      `(oldest kept: ${bucketIso(p, first)}); read a longer period, or keep ${p} longer with tally init --retention ${p}=DURATION`,
  );
}
