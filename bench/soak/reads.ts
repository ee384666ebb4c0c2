/**
 * Reads of the soak: "has every shard applied up to a sequence?" (one read per shard, with
 * `minSeq`), and a sample of counters read back against the acked ground truth.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { tallyClient } from "@tally/client";
import { sleep } from "../lib/time.js";

const enc = new TextEncoder();

/** When every shard had answered, and what their answers held. */
export interface CaughtUp {
  /** `performance.now()` when the last shard answered. */
  at: number;
  attempts: number;
  /** Shards whose answer differed from the ground truth of its probe counter. */
  wrong: number;
  /** Error replies retried, by code. */
  retried: Record<string, number>;
}

/**
 * Reads each probe counter (one per shard) of `ns` with `minSeq` until it answers a value,
 * retrying at once on `TIMEOUT`, `NOT_READY` and any error marked retryable (counted by code
 * in `retried`), and on transport errors (no responders while a node starts); `truth(name)`
 * is what the answer must be. Throws after `timeoutMs`.
 */
export async function waitCaughtUp(
  nc: NatsConnection,
  ns: string,
  probeKeys: string[],
  minSeq: number,
  truth: (name: string) => number,
  timeoutMs = 170_000,
): Promise<CaughtUp> {
  const body = enc.encode(JSON.stringify({ minSeq }));
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let wrong = 0;
  let at = 0;
  const retried: Record<string, number> = {};
  await Promise.all(
    probeKeys.map(async (name) => {
      for (;;) {
        attempts++;
        try {
          const m = await nc.request(`count.get.${ns}.${name}`, body, { timeout: 10_000 });
          const r = m.json<{ value?: number; error?: { code: string; message: string; retryable?: boolean } }>();
          if (!r.error) {
            if (r.value !== truth(name)) wrong++;
            at = Math.max(at, performance.now());
            return;
          }
          if (!r.error.retryable && r.error.code !== "TIMEOUT" && r.error.code !== "NOT_READY")
            throw new Error(`${ns}.${name}: ${r.error.code} ${r.error.message}`);
          retried[r.error.code] = (retried[r.error.code] ?? 0) + 1;
        } catch (err) {
          if (err instanceof Error && err.message.startsWith(`${ns}.${name}:`)) throw err;
          await sleep(5);
        }
        if (Date.now() > deadline) throw new Error(`${ns}.${name}: no answer at minSeq ${minSeq} in ${timeoutMs} ms`);
      }
    }),
  );
  return { at, attempts, wrong, retried };
}

/** Outcome of {@link checkSample}. */
export interface SampleCheck {
  read: number;
  wrong: number;
  exact: boolean;
  /** Up to 5 counters that read wrong, with what they read and what they should. */
  examples: { name: string; value: number; expected: number }[];
}

/**
 * Reads the all-time value of `sample` counters spread evenly over `<prefix>0 …` (`truth.length`
 * of them) with the client (50 in flight) and compares each with `truth[i]`.
 */
export async function checkSample(
  nc: NatsConnection,
  ns: string,
  prefix: string,
  truth: ArrayLike<number>,
  sample: number,
): Promise<SampleCheck> {
  const client = tallyClient(nc, { retryDeadlineMs: 60_000 });
  const n = truth.length;
  const step = Math.max(1, Math.floor(n / sample));
  const picks: number[] = [];
  for (let i = 0; i < n && picks.length < sample; i += step) picks.push(i);
  let next = 0;
  let wrong = 0;
  const examples: SampleCheck["examples"] = [];
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < picks.length) {
        const i = picks[next++]!;
        const r = await client.get(ns, `${prefix}${i}`);
        if (r.value !== truth[i]) {
          wrong++;
          if (examples.length < 5) examples.push({ name: `${prefix}${i}`, value: r.value, expected: truth[i]! });
        }
      }
    }),
  );
  return { read: picks.length, wrong, exact: wrong === 0, examples };
}
