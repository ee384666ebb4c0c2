/** The exactness check: every counter read back and compared with what was published. */
import type { NatsConnection } from "@nats-io/transport-node";
import { tallyClient } from "@tally/client";
import { expectedValue } from "./keys.js";

/** Outcome of {@link checkExact}. */
export interface ExactCheck {
  sum: number;
  expected: number;
  wrongKeys: number;
  exact: boolean;
}

/**
 * Reads the all-time value of counters `<prefix>0 … <prefix><keys-1>` of `ns` with the client
 * (100 reads in flight, 60 s retry deadline), after `n` events were published round-robin over
 * them: the sum must be `n` and each counter its share.
 */
export async function checkExact(
  nc: NatsConnection,
  ns: string,
  prefix: string,
  keys: number,
  n: number,
): Promise<ExactCheck> {
  const client = tallyClient(nc, { retryDeadlineMs: 60_000 });
  let sum = 0;
  let wrongKeys = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (next < keys) {
        const k = next++;
        const r = await client.get(ns, `${prefix}${k}`);
        sum += r.value;
        if (r.value !== expectedValue(k, n, keys)) wrongKeys++;
      }
    }),
  );
  return { sum, expected: n, wrongKeys, exact: sum === n && wrongKeys === 0 };
}
