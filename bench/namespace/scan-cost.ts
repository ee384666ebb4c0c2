/**
 * What the scans alone cost, in this process, with no NATS: the same events applied to 64
 * `ShardCounts` (one per shard, as the node holds them), then `topOfShard` / `listOfShard`
 * over every shard, as one request makes the owners do.
 */
import {
  DEFAULT_PERIODS,
  ShardCounts,
  bucketKey,
  encodeName,
  listOfShard,
  shardOf,
  topOfShard,
  type NamespaceCounters,
} from "@tally/core";
import { summary, type Summary } from "../lib/stats.js";
import { hrNow, msSince } from "../lib/time.js";
import { eventOf, nameOf, type GroundTruth } from "./dataset.js";
import { COUNTERS, EVENTS_PER_COUNTER, NS, SHARDS } from "./options.js";

/**
 * Measured passes over all 64 shards per scan kind: 60 for 100,000 counters, fewer for more
 * (a pass over 1M counters takes a tenth of a second or more), at least 10.
 */
const PASSES = Math.max(10, Math.min(60, Math.round((60 * 100_000) / COUNTERS)));
/** Unmeasured passes of every kind first, so no kind pays the JIT for the others. */
const WARMUP_PASSES = Math.ceil(PASSES / 3);

/**
 * Per scan kind, for all 64 shards' scans of one request: CPU ms (this process's user + system
 * time over the passes, per pass: what a scan costs whatever else runs on the machine), and
 * the wall ms of the passes (p50, p99 …), which a busy machine inflates.
 */
export type ScanCosts = Record<string, { cpuMs: number; perShardCpuUs: number; wall: Summary }>;

/** Builds the shards of {@link NS} and times each kind of scan over all of them. */
export function measureScanCost(
  now: number,
  truth: GroundTruth,
): { counters: number[]; passes: number; costs: ScanCosts } {
  const shards = Array.from({ length: SHARDS }, () => new ShardCounts(DEFAULT_PERIODS));
  const tokens = Array.from({ length: COUNTERS }, (_, k) => encodeName(nameOf(k)));
  const shardOfCounter = tokens.map((t) => shardOf(NS, t, SHARDS));
  for (let i = 0; i < COUNTERS * EVENTS_PER_COUNTER; i++) {
    const e = eventOf(i, COUNTERS, now);
    shards[shardOfCounter[e.counter]!]!.apply(NS, tokens[e.counter]!, e.delta, e.ts);
  }
  const maps = shards.map((s) => s.namespace(NS));
  const dayKey = bucketKey("day", truth.dayIndex);
  const middle = truth.sortedNames[Math.floor(truth.sortedNames.length / 2)]!;
  const scans: Record<string, (c: NamespaceCounters | undefined) => unknown> = {
    top10: (c) => topOfShard(c, dayKey, 10),
    top100: (c) => topOfShard(c, dayKey, 100),
    top1000: (c) => topOfShard(c, dayKey, 1000),
    topAll10: (c) => topOfShard(c, 0, 10),
    listFirst: (c) => listOfShard(c, 0, "", "", 100),
    listMiddle: (c) => listOfShard(c, 0, "", middle, 100),
    listPrefix: (c) => listOfShard(c, 0, "checkout-", "", 100),
  };
  for (let pass = 0; pass < WARMUP_PASSES; pass++)
    for (const scan of Object.values(scans)) for (const c of maps) scan(c);
  const costs: ScanCosts = {};
  for (const [id, scan] of Object.entries(scans)) {
    const ms: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let pass = 0; pass < PASSES; pass++) {
      const t = hrNow();
      for (const c of maps) scan(c);
      ms.push(msSince(t));
    }
    const used = process.cpuUsage(cpu0);
    const cpuMs = (used.user + used.system) / 1000 / PASSES;
    costs[id] = { cpuMs, perShardCpuUs: (cpuMs * 1000) / SHARDS, wall: summary(ms) };
  }
  return { counters: maps.map((m) => m?.size ?? 0), passes: PASSES, costs };
}
