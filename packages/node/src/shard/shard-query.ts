import type { Msg } from "@nats-io/transport-node";
import { listOfShard, topOfShard, type ShardCounts, type ShardQuery } from "@tally/core";
import { respondJson, type ReplyAnnotation } from "../nats/replies.js";

/** Answers kept per shard (the buckets read often: a dashboard's top, a listing's pages). */
const CACHED_ANSWERS = 32;

/**
 * One shard's recent namespace answers, each valid while the shard's counts of that
 * namespace have not changed since ({@link ShardCounts.namespaceVersion}): a dashboard
 * asking for the same top every second costs the shard a scan only when something was
 * counted in that namespace in between, whatever other namespaces are counting.
 */
export class ShardQueryCache {
  readonly #answers = new Map<string, { version: number; body: object }>();

  /** The answer to `query` from `counts` as they are now: cached, or scanned and cached. */
  answer(query: ShardQuery, counts: ShardCounts): object {
    const key = `${query.kind}\u0000${query.ns}\u0000${query.key}\u0000${query.limit}\u0000${query.prefix ?? ""}\u0000${query.after ?? ""}`;
    const version = counts.namespaceVersion(query.ns);
    const hit = this.#answers.get(key);
    if (hit && hit.version === version) return hit.body;
    const body = scan(query, counts);
    this.#answers.delete(key);
    this.#answers.set(key, { version, body });
    if (this.#answers.size > CACHED_ANSWERS) this.#answers.delete(this.#answers.keys().next().value!);
    return body;
  }
}

/**
 * One shard's part of a namespace-wide read: `{"items":[…]}`, its top `limit`, or
 * `{"names":[…],"more"}`, its first `limit` names after the cursor. The gathering node
 * checked the request (period enabled, bucket retained), so this is a scan of the
 * namespace's counters.
 */
function scan(query: ShardQuery, counts: ShardCounts): object {
  const counters = counts.namespace(query.ns);
  return query.kind === "top"
    ? { items: topOfShard(counters, query.key, query.limit) }
    : listOfShard(counters, query.key, query.prefix ?? "", query.after ?? "", query.limit);
}

/** Answers one shard's part of a namespace-wide read, with `annotation` (its log gap mark, if any) merged in. */
export function answerShardQuery(
  msg: Msg,
  query: ShardQuery,
  counts: ShardCounts,
  cache: ShardQueryCache,
  annotation?: ReplyAnnotation,
): void {
  respondJson(msg, cache.answer(query, counts), annotation);
}
