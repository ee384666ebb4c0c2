import { bucketIndex, bucketIso, type Period } from "@tally/core";

/**
 * Ground truth kept by a test from what it published and got acked: value per
 * (counter, period, bucket). Independent of the node's own bookkeeping.
 */
export class Truth {
  readonly #values = new Map<string, number>();
  readonly counters = new Set<string>();
  lastSeq = 0;

  add(ns: string, name: string, delta: number, ts: number, periods: readonly Period[], seq: number): void {
    this.counters.add(`${ns}.${name}`);
    this.lastSeq = Math.max(this.lastSeq, seq);
    for (const p of periods) {
      const k = p === "all" ? `${ns}.${name}|all` : `${ns}.${name}|${p}|${bucketIso(p, bucketIndex(p, ts))}`;
      this.#values.set(k, (this.#values.get(k) ?? 0) + delta);
    }
  }

  /** Expected value; 0 for anything never published. */
  value(ns: string, name: string, period: Period, bucket?: string): number {
    return this.#values.get(period === "all" ? `${ns}.${name}|all` : `${ns}.${name}|${period}|${bucket}`) ?? 0;
  }

  /** Every (counter, period, bucket) published, for exhaustive checks. */
  *buckets(): Generator<{ ns: string; name: string; period: Exclude<Period, "all">; bucket: string; value: number }> {
    for (const [k, value] of this.#values) {
      const [counter, period, bucket] = k.split("|") as [string, Period, string | undefined];
      if (period === "all" || bucket === undefined) continue;
      const dot = counter.indexOf(".");
      yield { ns: counter.slice(0, dot), name: counter.slice(dot + 1), period, bucket, value };
    }
  }
}
