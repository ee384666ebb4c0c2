/** Bulk publishing of events (empty, or with a body per event), as fast as the server acks them. */
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import { hrNow } from "./time.js";

const EMPTY = new Uint8Array(0);

/** What {@link publishAll} did: {@link hrNow} instants around it, the highest acked sequence. */
export interface PublishResult {
  startedAt: bigint;
  doneAt: bigint;
  lastSeq: number;
  acked: number;
}

/**
 * Publishes `n` events round-robin over `subjects` (or to `subjects(i)`, for many subjects
 * not held in memory at once), with at most `window` acked JetStream publishes in flight;
 * rejects after the in-flight ones settle if one fails. Event `i` has the body `body(i)`, or
 * none (+1) without `body`.
 */
export async function publishAll(
  js: JetStreamClient,
  subjects: string[] | ((i: number) => string),
  n: number,
  window: number,
  body?: (i: number) => Uint8Array,
): Promise<PublishResult> {
  let inflight = 0;
  let sent = 0;
  let acked = 0;
  let lastSeq = 0;
  let error: unknown;
  let wake: (() => void) | undefined;
  const settle = () => {
    inflight--;
    if (wake) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  const onAck = (ack: PubAck) => {
    acked++;
    if (ack.seq > lastSeq) lastSeq = ack.seq;
    settle();
  };
  const onErr = (err: unknown) => {
    error ??= err;
    settle();
  };
  const subjectOf = typeof subjects === "function" ? subjects : (i: number) => subjects[i % subjects.length]!;
  const t0 = hrNow();
  while (sent < n || inflight > 0) {
    while (sent < n && inflight < window && error === undefined) {
      inflight++;
      js.publish(subjectOf(sent), body ? body(sent) : EMPTY).then(onAck, onErr);
      sent++;
    }
    if (error !== undefined && inflight === 0) break;
    await new Promise<void>((r) => (wake = r));
  }
  if (error !== undefined) throw new Error(`publish failed after ${acked} acks: ${String(error)}`, { cause: error });
  return { startedAt: t0, doneAt: hrNow(), lastSeq, acked };
}
