/**
 * Phase 2: one process calls a batcher's `add(ns, k<random>)` M times over K counters as
 * fast as it can, awaiting an add only when the batcher is `full` (too many keys unacked;
 * `--await-each` awaits every add), then `close()`. Adds/s run from the first add to `close()` resolving, so every event is
 * acked by JetStream when the clock stops. Then every counter is read with `minSeq` =
 * close's `seq` and compared with what the loop added.
 */
import type { BatcherStats } from "@tally/client";
import { cpuDelta, cpuMark, type CpuDelta } from "../lib/cpu.js";
import { hrNow, log, msSince } from "../lib/time.js";
import { checkCounts, type CountsCheck } from "./exact.js";
import { keyNames, pids, TARGETS, type ClientRun } from "./options.js";

/** One round of phase 2. */
export interface BatcherRound {
  round: number;
  ns: string;
  adds: number;
  keys: number;
  /** First add → last add returned (the loop alone). */
  addLoopMs: number;
  /** First add → `close()` resolved: the figure against the target. */
  ms: number;
  addsPerSec: number;
  /** Adds whose promise waited (the batcher was `full`: too many keys unacked). */
  waits: number;
  /** `close()`'s seq: the highest stream sequence acked. */
  seq: number;
  stats: BatcherStats;
  /** Adds per published key. */
  aggregation: number;
  cpu: CpuDelta;
  /** CPU while the loop ran, and keys acked by then; the same for `close()`. */
  loop: { cpu: CpuDelta; published: number };
  close: { cpu: CpuDelta; published: number };
  exact: CountsCheck;
  met: boolean;
}

/** A xorshift32 step: the loop's cheap, reproducible choice of counter. */
const xorshift = (x: number): number => {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
};

export async function measureBatcher(run: ClientRun, round: number): Promise<BatcherRound> {
  const { adds: m, keys: k } = run.params;
  const ns = `batch${round}`;
  const names = keyNames(k);
  const added = new Uint32Array(k);
  log(`phase 2 round ${round}: ${m} batcher adds over ${k} counters of ${ns}`);
  const batcher = run.client.batcher(run.params.batcher);
  let x = 0x9e3779b9 ^ round;
  const { yieldEvery, awaitEach } = run.params;
  let waits = 0;
  const before = cpuMark(pids(run));
  const t0 = hrNow();
  for (let i = 0; i < m; i++) {
    x = xorshift(x);
    const key = x % k;
    added[key]!++;
    const adding = batcher.add(ns, names[key]!);
    // `add` resolves at once unless too many keys are unacked (then `full` is true).
    if (awaitEach || batcher.full) {
      if (batcher.full) waits++;
      await adding;
    }
    // A producer reading events from I/O gives the event loop a turn now and then; a tight
    // loop of awaits alone never would, and the batcher's timer would never fire.
    if (i % yieldEvery === yieldEvery - 1) await new Promise<void>((r) => setImmediate(r));
  }
  const addLoopMs = msSince(t0);
  const atLoopEnd = cpuMark(pids(run));
  const publishedInLoop = batcher.stats.published;
  const { seq } = await batcher.close();
  const ms = msSince(t0);
  const atClose = cpuMark(pids(run));
  const cpu = cpuDelta(before, atClose);
  const loopCpu = cpuDelta(before, atLoopEnd);
  const closeCpu = cpuDelta(atLoopEnd, atClose);
  const stats = batcher.stats;
  log(`phase 2 round ${round}: ${Math.round((m / ms) * 1000)} adds/s, ${stats.published} keys published; checking`);
  const exact = await checkCounts(run.nc, ns, names, added, seq);
  const addsPerSec = (m / ms) * 1000;
  return {
    round,
    ns,
    adds: m,
    keys: k,
    addLoopMs,
    ms,
    addsPerSec,
    seq,
    waits,
    stats,
    aggregation: m / stats.published,
    cpu,
    loop: { cpu: loopCpu, published: publishedInLoop },
    close: { cpu: closeCpu, published: stats.published - publishedInLoop },
    exact,
    met: addsPerSec >= TARGETS.batcherAddsPerSec && exact.exact,
  };
}
