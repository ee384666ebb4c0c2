/**
 * The exactness check of bench/client.ts: every counter of a namespace read back with
 * `minSeq` and compared with the counts the bench added itself, plus `list` (every name, no
 * other) and `top` (the ten largest, ties by name) of the same namespace.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { tallyClient } from "@tally/client";

/** Outcome of {@link checkCounts}. */
export interface CountsCheck {
  keys: number;
  /** Sum of the all-time values read, and of what the bench added. */
  sum: number;
  expectedSum: number;
  /** Counters whose all-time value is not what the bench added to them. */
  wrongKeys: number;
  /** Names `list` returned, and whether they are exactly the counters added to. */
  listed: number;
  listExact: boolean;
  /** Whether `top` of 10 is the ten largest counts, ties by name. */
  topExact: boolean;
  exact: boolean;
}

/** Reads in flight at once. */
const READERS = 64;

/**
 * Reads the all-time value of every counter `names[k]` of `ns` with `minSeq` (64 reads in
 * flight, through a client with a 120 s retry deadline: the node may still be applying) and
 * compares it with `expected[k]`; then `list` and `top` of `ns` with the same `minSeq`.
 */
export async function checkCounts(
  nc: NatsConnection,
  ns: string,
  names: string[],
  expected: ArrayLike<number>,
  minSeq: number,
): Promise<CountsCheck> {
  const reader = tallyClient(nc, { retryDeadlineMs: 120_000 });
  let sum = 0;
  let expectedSum = 0;
  let wrongKeys = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: READERS }, async () => {
      while (next < names.length) {
        const k = next++;
        const { value } = await reader.get(ns, names[k]!, { minSeq });
        sum += value;
        expectedSum += expected[k]!;
        if (value !== expected[k]) wrongKeys++;
      }
    }),
  );

  const counted = names.filter((_, k) => expected[k] !== 0).sort();
  const listedNames: string[] = [];
  for await (const name of reader.list(ns, "all", { limit: 1000, minSeq })) listedNames.push(name);
  const listExact = listedNames.length === counted.length && listedNames.every((n, i) => n === counted[i]);

  const want = names
    .map((name, k) => ({ name, value: expected[k]! }))
    .filter((i) => i.value !== 0)
    .sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, 10);
  const top = await reader.top(ns, "all", { limit: 10, minSeq });
  const topExact =
    top.partial !== true &&
    top.items.length === want.length &&
    top.items.every((it, i) => it.name === want[i]!.name && it.value === want[i]!.value);

  return {
    keys: names.length,
    sum,
    expectedSum,
    wrongKeys,
    listed: listedNames.length,
    listExact,
    topExact,
    exact: wrongKeys === 0 && sum === expectedSum && listExact && topExact,
  };
}
