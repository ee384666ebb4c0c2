/** Percentiles of latency samples. */

/** The nearest-rank `p`-th percentile of an ascending array; NaN when it is empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Count, p50, p90, p99 and max of some durations. */
export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** {@link Summary} plus p99.9 and the mean. */
export interface LatencyStats extends Summary {
  p999: number;
  mean: number;
}

/** Count, p50, p90, p99 and max of `ms` (not modified). */
export function summary(ms: number[]): Summary {
  const s = [...ms].sort((a, b) => a - b);
  return {
    count: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? NaN,
  };
}

/** {@link summary} with p99.9 and the mean, for request latencies (keys in JSON order). */
export function latencyStats(ms: number[]): LatencyStats {
  const { max, ...upToP99 } = summary(ms);
  const s = [...ms].sort((a, b) => a - b);
  return { ...upToP99, p999: percentile(s, 99.9), max, mean: s.reduce((a, b) => a + b, 0) / s.length };
}
