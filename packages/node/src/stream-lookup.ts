import type { NatsConnection } from "@nats-io/transport-node";
import { shardEventFilter } from "@tally/core";
import { EVENTS_STREAM } from "./names.js";

/**
 * Sequence of the first stored event of `shard` at or after `seq`, if any: one
 * direct `next_by_subj` lookup (cheap on nats-server 2.9, unlike a consumer's info,
 * which counts its pending messages by scanning).
 */
export async function nextShardEventSeq(nc: NatsConnection, shard: number, seq: number): Promise<number | undefined> {
  const reply = await nc.request(
    `$JS.API.STREAM.MSG.GET.${EVENTS_STREAM}`,
    JSON.stringify({ seq, next_by_subj: shardEventFilter(shard) }),
    { timeout: 5000 },
  );
  const r = reply.json<{ message?: { seq: number }; error?: { code: number; description: string } }>();
  if (r.message) return r.message.seq;
  if (r.error?.code === 404) return undefined;
  throw new Error(`stream message lookup failed: ${r.error?.description ?? "unexpected reply"}`);
}
