import type { NatsConnection } from "@nats-io/transport-node";
import { shardEventFilter } from "@tally/core";
import { EVENTS_STREAM } from "../names.js";

/** JetStream's error code for "no message found" (`JSNoMessageFoundErr`). */
const NO_MESSAGE_FOUND = 10037;

/** A message read straight from a stream. */
export interface StreamMessage {
  seq: number;
  subject: string;
  data: Uint8Array;
}

/**
 * The first message of `stream` at or after `seq` on `subject` (wildcards allowed),
 * if any: one `STREAM.MSG.GET` request with a deadline, no consumer. Cheap on
 * nats-server 2.9, unlike a consumer's info, which counts pending messages by scanning.
 */
export async function nextStreamMessage(
  nc: NatsConnection,
  stream: string,
  subject: string,
  seq: number,
): Promise<StreamMessage | undefined> {
  const reply = await nc.request(`$JS.API.STREAM.MSG.GET.${stream}`, JSON.stringify({ seq, next_by_subj: subject }), {
    timeout: 5000,
  });
  const r = reply.json<{
    message?: { seq: number; subject: string; data?: string };
    error?: { code: number; err_code?: number; description: string };
  }>();
  if (r.message) {
    const { seq: s, subject: subj, data } = r.message;
    return { seq: s, subject: subj, data: data ? new Uint8Array(Buffer.from(data, "base64")) : new Uint8Array(0) };
  }
  // Only "no message found" means there is none; a 404 for a stream not (yet) loaded,
  // e.g. while a server restarts, must not be taken for "this shard has no more events".
  if (r.error?.code === 404 && (r.error.err_code === undefined || r.error.err_code === NO_MESSAGE_FOUND))
    return undefined;
  throw new Error(`stream ${stream} message lookup failed: ${r.error?.description ?? "unexpected reply"}`);
}

/** Sequence of the first stored event of `shard` at or after `seq`, if any. */
export async function nextShardEventSeq(nc: NatsConnection, shard: number, seq: number): Promise<number | undefined> {
  return (await nextStreamMessage(nc, EVENTS_STREAM, shardEventFilter(shard), seq))?.seq;
}
