/** The counters the benchmarks publish to: names, their shards and their expected values. */
import { shardOf } from "@tally/core";

/**
 * For each shard, the first counter `<prefix><i>` (i < `limit`) of namespace `ns` on it;
 * index = shard. Throws when some shard has none.
 */
export function keyPerShard(ns: string, prefix: string, limit: number, shards: number): string[] {
  const byShard = new Map<number, string>();
  for (let k = 0; k < limit && byShard.size < shards; k++) {
    const s = shardOf(ns, `${prefix}${k}`, shards);
    if (!byShard.has(s)) byShard.set(s, `${prefix}${k}`);
  }
  if (byShard.size < shards)
    throw new Error(`only ${byShard.size} of ${shards} shards have a key among ${prefix}0..${prefix}${limit - 1}`);
  return Array.from({ length: shards }, (_, s) => byShard.get(s)!);
}

/** What counter number `k` of `keys` must count after `n` events published round-robin over them. */
export const expectedValue = (k: number, n: number, keys: number): number =>
  Math.floor(n / keys) + (k < n % keys ? 1 : 0);
