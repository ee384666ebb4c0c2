import type { NatsConnection } from "@nats-io/transport-node";
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { DLQ_STREAM, DlqHeader } from "../names.js";

/** One dead-letter record: an invalid stored event and why it was refused. */
export interface DeadLetter {
  /** Sequence in the dead-letter stream. */
  dlqSeq: number;
  /** Stable error code, e.g. `BAD_DELTA`. */
  code: string;
  /** Human-readable reason. */
  reason: string;
  /** Subject the event was stored under, `tally.ev.<shard>.<ns>.<name>`. */
  subject: string;
  /** Its sequence in the events stream. */
  seq: number;
  /** When it was stored (ISO-8601). */
  time: string;
  /** The original body. */
  body: Uint8Array;
  /**
   * Id of the node that wrote the record (header `Tally-Node`); `""` when absent: a
   * record from an older node, or one not written by a node at all.
   */
  node: string;
}

/** Options of {@link listDeadLetters}. */
export interface ListDeadLettersOptions {
  /** Only records with a dead-letter sequence ≥ this. @default 1 */
  fromSeq?: number;
  /** At most this many. @default 100 */
  limit?: number;
}

/** Reads dead-letter records, oldest first. */
export async function listDeadLetters(nc: NatsConnection, opts: ListDeadLettersOptions = {}): Promise<DeadLetter[]> {
  const limit = opts.limit ?? 100;
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(DLQ_STREAM);
  const from = Math.max(opts.fromSeq ?? 1, info.state.first_seq);
  const available = info.state.last_seq - from + 1;
  if (available <= 0 || info.state.messages === 0) return [];
  const js = jetstream(nc);
  const consumer = await js.consumers.get(DLQ_STREAM, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  });
  const out: DeadLetter[] = [];
  try {
    while (out.length < limit) {
      const batch = await consumer.fetch({ max_messages: Math.min(limit - out.length, 256), expires: 1000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        out.push({
          dlqSeq: m.seq,
          code: m.headers?.get(DlqHeader.code) ?? "",
          reason: m.headers?.get(DlqHeader.message) ?? "",
          subject: m.headers?.get(DlqHeader.subject) ?? "",
          seq: Number(m.headers?.get(DlqHeader.seq) ?? 0),
          time: m.headers?.get(DlqHeader.time) ?? "",
          body: m.data,
          node: m.headers?.get(DlqHeader.node) ?? "",
        });
        if (m.info.pending === 0 || out.length >= limit) break;
      }
      if (got === 0 || out[out.length - 1]!.dlqSeq >= info.state.last_seq) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return out;
}
