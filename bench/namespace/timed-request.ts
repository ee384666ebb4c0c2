/** One timed request of bench/namespace.ts, retried as a client would retry it. */
import type { NatsConnection } from "@nats-io/transport-node";
import { hrNow, msSince, sleep } from "../lib/time.js";
import type { ReadKind } from "./requests.js";

/** How long one request is retried before the bench fails. */
const RETRY_DEADLINE_MS = 20_000;

/** What one request took, from the first send to the answer that counted. */
export interface Timed {
  ms: number;
  /** The reply was `partial`: some shard did not answer within the node's gather timeout. */
  partial: boolean;
  /** Sends before that answer: no responders, a timeout or a retryable error (the shard was moving). */
  retries: number;
  /** No answer within {@link RETRY_DEADLINE_MS}: `ms` is when the bench gave up. */
  failed: boolean;
}

/**
 * Sends request `i` of `kind` until it gets an answer: no responders (a shard between owners,
 * e.g. after a lapsed lease), a request timeout or a `retryable` error reply are sent again
 * after 10 ms, within {@link RETRY_DEADLINE_MS}, and the latency runs from the first send.
 * Gives up (`failed`) after that; throws when a whole reply is wrong or a final error comes.
 */
export async function timedRequest(nc: NatsConnection, kind: ReadKind, i: number): Promise<Timed> {
  const t = hrNow();
  for (let retries = 0; ; retries++) {
    let r: Record<string, unknown> | undefined;
    try {
      const left = Math.max(100, RETRY_DEADLINE_MS - msSince(t));
      const m = await nc.request(kind.subject(i), kind.body, { timeout: Math.min(10_000, left) });
      if (kind.id === "echo") return { ms: msSince(t), partial: false, retries, failed: false };
      r = m.json<Record<string, unknown>>();
    } catch {
      // no responders or a timeout: sent again below, until the deadline
    }
    if (r !== undefined) {
      const ms = msSince(t);
      const error = r.error as { retryable?: boolean } | undefined;
      if (r.partial === true) return { ms, partial: true, retries, failed: false };
      if (error?.retryable !== true) {
        const why = kind.check(r, i);
        if (why !== undefined) throw new Error(`${kind.label} (${kind.subject(i)}): ${why}`);
        return { ms, partial: false, retries, failed: false };
      }
    }
    if (msSince(t) > RETRY_DEADLINE_MS) return { ms: msSince(t), partial: false, retries, failed: true };
    await sleep(10);
  }
}
