import type { TallyClient } from "@tally/client";
import {
  TallyError,
  bucketIndex,
  bucketIso,
  bucketKey,
  bucketStart,
  type BucketPeriod,
  type Period,
  type SeriesReply,
} from "@tally/core";
import type { Recount } from "./verify-recount.js";
import { planCounterReads, type IsRetained, type PlannedRead } from "./verify-plan.js";
import type { RecountedCounter } from "./verify-tally.js";

/** A value the nodes serve that the log does not account for. */
export interface Difference {
  ns: string;
  name: string;
  period: Period;
  /** Start of the bucket (ISO-8601 UTC); null for all-time. */
  bucket: string | null;
  /** What the recount of the log gives. */
  expected: number;
  /** What the nodes serve; null when they left the bucket out of a series. */
  served: number | null;
}

/** A read that failed for good (after the client's retries). */
export interface ReadFailure {
  ns: string;
  name: string;
  period: Period;
  code: string;
  message: string;
}

/** What the compare phase found. */
export interface CompareResult {
  /** Apparent differences: some may still be explained by events stored after the recount. */
  differences: Difference[];
  failures: ReadFailure[];
  /** Counters compared. */
  counters: number;
  /** Recounted buckets compared. */
  buckets: number;
  /** Buckets the recount has no event in, compared (they must be 0). */
  zeroBuckets: number;
  /** All-time values compared. */
  allTime: number;
  /** Buckets a node left out of a series as expired (`retainedFrom`). */
  expiredOnNodes: number;
  /** Read requests answered. */
  reads: number;
  /** Reads planned. */
  planned: number;
  /** True when it stopped early after `maxFailures` failed reads. */
  aborted: boolean;
}

/** What comparing needs. */
export interface CompareSettings {
  client: TallyClient;
  isRetained: IsRetained;
  /** Time given to `isRetained`. */
  nowMs: number;
  maxPoints: number;
  /** Reads in flight at once. */
  concurrency: number;
  /** Stop after this many failed reads. */
  maxFailures: number;
  /** Called after every read with reads done and planned. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Reads what the nodes serve for every recounted counter, with `minSeq` = the recount's
 * end (so every event it read is reflected), `concurrency` reads at a time, and compares
 * bucket by bucket ({@link planCounterReads} says which).
 */
export async function compareWithNodes(recount: Recount, s: CompareSettings): Promise<CompareResult> {
  const r: CompareResult = {
    differences: [],
    failures: [],
    counters: 0,
    buckets: 0,
    zeroBuckets: 0,
    allTime: 0,
    expiredOnNodes: 0,
    reads: 0,
    planned: 0,
    aborted: false,
  };
  const plan: PlannedRead[] = [];
  const settings = { ...s, periods: recount.tally.periods, window: recount.window };
  for (const c of recount.tally.counters()) {
    const reads = planCounterReads(c, settings);
    if (reads.length > 0) r.counters++;
    for (const read of reads) plan.push(read);
  }
  r.planned = plan.length;
  const minSeq = recount.endSeq;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.length && !r.aborted) {
      const read = plan[next++]!;
      try {
        if (read.period === "all") await compareAllTime(read.counter, minSeq, s, r);
        else await compareSeries(read.counter, read.period, read.first, read.last, minSeq, s, r);
        r.reads++;
      } catch (err) {
        const c = read.counter;
        r.failures.push({
          ns: c.ns,
          name: c.name,
          period: read.period,
          code: err instanceof TallyError ? err.code : "INTERNAL",
          message: err instanceof Error ? err.message : String(err),
        });
        if (r.failures.length >= s.maxFailures) r.aborted = true;
      }
      s.onProgress?.(r.reads + r.failures.length, plan.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(s.concurrency, plan.length) }, worker));
  return r;
}

async function compareAllTime(c: RecountedCounter, minSeq: number, s: CompareSettings, r: CompareResult) {
  const reply = await s.client.get(c.ns, c.name, { period: "all", minSeq, nameEncoded: true });
  r.allTime++;
  if (reply.value !== c.all) {
    r.differences.push({ ns: c.ns, name: c.name, period: "all", bucket: null, expected: c.all, served: reply.value });
  }
}

async function compareSeries(
  c: RecountedCounter,
  p: BucketPeriod,
  first: number,
  last: number,
  minSeq: number,
  s: CompareSettings,
  r: CompareResult,
): Promise<void> {
  const reply: SeriesReply & { retainedFrom?: string } = await s.client.series(c.ns, c.name, {
    period: p,
    from: bucketStart(p, first),
    to: bucketStart(p, last),
    minSeq,
    nameEncoded: true,
  });
  const served = new Map<number, number>();
  for (const pt of reply.points) served.set(bucketIndex(p, Date.parse(pt.bucket)), pt.value);
  const retainedFromMs = reply.retainedFrom === undefined ? undefined : Date.parse(reply.retainedFrom);
  for (let i = first; i <= last; i++) {
    if (!s.isRetained(p, i, s.nowMs)) continue;
    const key = bucketKey(p, i);
    const expected = c.buckets.get(key);
    const value = served.get(i);
    if (value === undefined && retainedFromMs !== undefined && bucketStart(p, i) < retainedFromMs) {
      r.expiredOnNodes++;
      continue;
    }
    if (expected === undefined) r.zeroBuckets++;
    else r.buckets++;
    if (value !== (expected ?? 0)) {
      r.differences.push({
        ns: c.ns,
        name: c.name,
        period: p,
        bucket: bucketIso(p, i),
        expected: expected ?? 0,
        served: value ?? null,
      });
    }
  }
}
