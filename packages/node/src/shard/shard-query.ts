import type { Msg } from "@nats-io/transport-node";
import { listOfShard, topOfShard, type ShardCounts, type ShardQuery } from "@tally/core";
import { respondJson, type ReplyAnnotation } from "../nats/replies.js";

/**
 * Answers one shard's part of a namespace-wide read (a node gathers every shard's part
 * and merges them): `{"items":[…]}`, the shard's top `limit`, or `{"names":[…],"more"}`,
 * its first `limit` names after the cursor. The request was checked by the gathering
 * node (period enabled, bucket retained), so this is a scan of the namespace's counters.
 * `annotation` (the shard's log gap mark, if any) is merged in.
 */
export function answerShardQuery(msg: Msg, query: ShardQuery, counts: ShardCounts, annotation?: ReplyAnnotation): void {
  const counters = counts.namespace(query.ns);
  const body =
    query.kind === "top"
      ? { items: topOfShard(counters, query.key, query.limit) }
      : listOfShard(counters, query.key, query.prefix ?? "", query.after ?? "", query.limit);
  respondJson(msg, body, annotation);
}
