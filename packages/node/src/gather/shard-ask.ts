import type { NatsConnection } from "@nats-io/transport-node";
import { RequestError, backoffMs, isRetryableCode, shardQuerySubject, sleep, type LogGapMark } from "@tally/core";

/** One shard's part of a namespace read, as its owner answered it. */
export interface ShardAnswer {
  /** `{"items":[…]}` (top) or `{"names":[…],"more":…}` (list). */
  body: unknown;
  /** The shard's log gap mark, when it has one. */
  logGap?: LogGapMark;
}

/** Backoff between asks of a shard that is moving or has no owner yet: 25 ms doubling up to 250 ms. */
const ASK_BACKOFF = { baseMs: 25, maxMs: 250 } as const;

const dec = new TextDecoder();

/**
 * Asks shard `shard`'s owner for its part, retrying while the shard has no owner (no
 * responders), is starting or moving (a retryable error), until `deadline`: then
 * undefined, the shard is missing. A final error from the shard is thrown as it came.
 */
export async function askShard(
  nc: NatsConnection,
  shard: number,
  data: Uint8Array,
  deadline: number,
): Promise<ShardAnswer | undefined> {
  const subject = shardQuerySubject(shard);
  for (let attempt = 0; ; attempt++) {
    const left = deadline - Date.now();
    if (left <= 0 || nc.isClosed()) return undefined;
    try {
      const reply = await nc.request(subject, data, { timeout: left });
      const answer = parseAnswer(reply.data, shard);
      if (answer) return answer;
    } catch (err) {
      if (err instanceof RequestError) throw err;
      // No responders (no owner yet), a timeout, a connection hiccup: ask again until the deadline.
    }
    const wait = backoffMs(attempt, ASK_BACKOFF);
    if (Date.now() + wait >= deadline) return undefined;
    await sleep(wait);
  }
}

/** The answer, or undefined for a retryable error; throws a final one. */
function parseAnswer(data: Uint8Array, shard: number): ShardAnswer | undefined {
  let v: { error?: { code?: unknown; message?: unknown; retryable?: unknown }; logGap?: LogGapMark };
  try {
    v = JSON.parse(dec.decode(data)) as typeof v;
  } catch {
    throw new RequestError("INTERNAL", `shard ${shard} answered a namespace query with something that is not JSON`);
  }
  if (v.error === undefined) return v.logGap ? { body: v, logGap: v.logGap } : { body: v };
  const code = typeof v.error.code === "string" ? v.error.code : "INTERNAL";
  const retryable = typeof v.error.retryable === "boolean" ? v.error.retryable : isRetryableCode(code);
  if (retryable) return undefined;
  throw new RequestError(code, `shard ${shard}: ${String(v.error.message)}`);
}
