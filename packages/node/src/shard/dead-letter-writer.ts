import { headers, nuid, type MsgHdrs } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { MAX_EVENT_BYTES, backoffMs, dlqSubject, sleep, type TallyError } from "@tally/core";
import { DLQ_STREAM, DlqHeader } from "../names.js";
import { headerValue } from "../nats/replies.js";
import type { NodeMetrics } from "../http/metrics.js";
import { printableSubject, storedTimeMs } from "./stored-event.js";

/** What a {@link DeadLetterWriter} needs from its node. */
export interface DeadLetterContext {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly nodeId: string;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
}

/** Headers that make two dead-letter records the same record (the writing node aside). */
const RECORD_HEADERS = [DlqHeader.code, DlqHeader.message, DlqHeader.subject, DlqHeader.seq] as const;

/**
 * Writes one shard's dead-letter records: an invalid stored event with its reason
 * in headers (see {@link DlqHeader}, including the writing node) and its body, to the
 * dead-letter stream.
 *
 * A record's message id `dlq-<source seq>` is predictable, so a replay after a crash
 * records an event once. Anyone allowed to publish on `tally.dlq.>` (only nodes should be)
 * could send a record under that id first and make the real one a "duplicate": so when the
 * ack says duplicate, the stored record is read back and, unless it is this event's record,
 * the real one is written again under an id nobody can predict. A forged record can add
 * noise, never hide the real reason.
 */
export class DeadLetterWriter {
  readonly #shard: number;
  readonly #ctx: DeadLetterContext;

  constructor(shard: number, ctx: DeadLetterContext) {
    this.#shard = shard;
    this.#ctx = ctx;
  }

  /**
   * Records `m` as refused for `err`; retried until stored while `keepTrying()`
   * holds, so none is lost (the shard waits for it before going on). Throws once
   * `keepTrying()` turns false (the shard is stopping; the next owner re-records it).
   */
  async write(m: JsMsg, err: TallyError, keepTrying: () => boolean): Promise<void> {
    const { metrics, log, nodeId } = this.#ctx;
    const h = headers();
    h.set(DlqHeader.code, err.code);
    h.set(DlqHeader.message, headerValue(err.message));
    h.set(DlqHeader.subject, headerValue(printableSubject(m)));
    h.set(DlqHeader.seq, String(m.seq));
    h.set(DlqHeader.time, new Date(storedTimeMs(m)).toISOString());
    h.set(DlqHeader.bytes, String(m.data.length));
    h.set(DlqHeader.node, headerValue(nodeId));
    // Valid bodies are small; a huge invalid one is kept only in part, so the
    // record always fits under the server's max_payload.
    let body = m.data.length > MAX_EVENT_BYTES ? m.data.subarray(0, MAX_EVENT_BYTES) : m.data;
    // Chosen once, so retries of the second write de-duplicate among themselves.
    const freshId = `dlq-${m.seq}-${nodeId}-${nuid.next()}`;
    metrics.deadLetters.inc({ code: err.code });
    log.warn(
      { shard: this.#shard, seq: m.seq, subject: m.subject, code: err.code, reason: err.message },
      "event dead-lettered",
    );
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#record(m.seq, h, body, freshId);
        return;
      } catch (pubErr) {
        if (!keepTrying()) throw pubErr;
        // A record the server refuses as such will never fit: keep the reason, drop the body.
        if (pubErr instanceof Error && /max_payload|payload/i.test(pubErr.message) && body.length > 0)
          body = new Uint8Array(0);
        log.error(
          { err: pubErr, shard: this.#shard, seq: m.seq, attempt },
          "dead-letter write failed; retrying (the shard waits)",
        );
        await sleep(backoffMs(attempt));
      }
    }
  }

  /** Publishes the record under `dlq-<seq>`; if that id holds another record, again under `freshId`. */
  async #record(seq: number, h: MsgHdrs, body: Uint8Array, freshId: string): Promise<void> {
    const { js, log } = this.#ctx;
    const opts = { headers: h, expect: { streamName: DLQ_STREAM } };
    // The msg id makes a replay after a crash re-record it once, not twice.
    const ack = await js.publish(dlqSubject(this.#shard), body, { ...opts, msgID: `dlq-${seq}` });
    if (!ack.duplicate || (await this.#holds(ack.seq, h, body))) return;
    log.warn(
      { shard: this.#shard, seq, dlqSeq: ack.seq },
      `dead-letter id dlq-${seq} holds another record (forged?); recording this one under a fresh id`,
    );
    await js.publish(dlqSubject(this.#shard), body, { ...opts, msgID: freshId });
  }

  /** True if the dead-letter record at `dlqSeq` is this record (whichever node wrote it). */
  async #holds(dlqSeq: number, h: MsgHdrs, body: Uint8Array): Promise<boolean> {
    const stored = await this.#ctx.jsm.streams.getMessage(DLQ_STREAM, { seq: dlqSeq }).catch(() => null);
    if (!stored) return false; // gone or unreadable: writing it again loses nothing
    return RECORD_HEADERS.every((k) => stored.header.get(k) === h.get(k)) && sameBytes(stored.data, body);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
