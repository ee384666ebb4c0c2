import { headers } from "@nats-io/transport-node";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { MAX_EVENT_BYTES, backoffMs, dlqSubject, sleep, type TallyError } from "@tally/core";
import { DLQ_STREAM, DlqHeader } from "../names.js";
import { headerValue } from "../nats/replies.js";
import type { NodeMetrics } from "../http/metrics.js";
import { printableSubject, storedTimeMs } from "./stored-event.js";

/**
 * Writes one shard's dead-letter records: an invalid stored event with its reason
 * in headers (see {@link DlqHeader}) and its body, to the dead-letter stream.
 */
export class DeadLetterWriter {
  readonly #shard: number;
  readonly #js: JetStreamClient;
  readonly #metrics: NodeMetrics;
  readonly #log: Logger;

  constructor(shard: number, js: JetStreamClient, metrics: NodeMetrics, log: Logger) {
    this.#shard = shard;
    this.#js = js;
    this.#metrics = metrics;
    this.#log = log;
  }

  /**
   * Records `m` as refused for `err`; retried until stored while `keepTrying()`
   * holds, so none is lost (the shard waits for it before going on). Throws once
   * `keepTrying()` turns false (the shard is stopping; the next owner re-records it).
   */
  async write(m: JsMsg, err: TallyError, keepTrying: () => boolean): Promise<void> {
    const h = headers();
    h.set(DlqHeader.code, err.code);
    h.set(DlqHeader.message, headerValue(err.message));
    h.set(DlqHeader.subject, headerValue(printableSubject(m)));
    h.set(DlqHeader.seq, String(m.seq));
    h.set(DlqHeader.time, new Date(storedTimeMs(m)).toISOString());
    h.set(DlqHeader.bytes, String(m.data.length));
    // Valid bodies are small; a huge invalid one is kept only in part, so the
    // record always fits under the server's max_payload.
    let body = m.data.length > MAX_EVENT_BYTES ? m.data.subarray(0, MAX_EVENT_BYTES) : m.data;
    this.#metrics.deadLetters.inc({ code: err.code });
    this.#log.warn(
      { shard: this.#shard, seq: m.seq, subject: m.subject, code: err.code, reason: err.message },
      "event dead-lettered",
    );
    for (let attempt = 0; ; attempt++) {
      try {
        // The msg id makes a replay after a crash re-record it once, not twice.
        await this.#js.publish(dlqSubject(this.#shard), body, {
          headers: h,
          msgID: `dlq-${m.seq}`,
          expect: { streamName: DLQ_STREAM },
        });
        return;
      } catch (pubErr) {
        if (!keepTrying()) throw pubErr;
        // A record the server refuses as such will never fit: keep the reason, drop the body.
        if (pubErr instanceof Error && /max_payload|payload/i.test(pubErr.message) && body.length > 0)
          body = new Uint8Array(0);
        this.#log.error(
          { err: pubErr, shard: this.#shard, seq: m.seq, attempt },
          "dead-letter write failed; retrying (the shard waits)",
        );
        await sleep(backoffMs(attempt));
      }
    }
  }
}
