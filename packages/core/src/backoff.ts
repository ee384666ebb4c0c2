/** Options of {@link backoffMs}. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. @default 100 */
  baseMs?: number;
  /** Longest delay, in ms. @default 5000 */
  maxMs?: number;
}

/**
 * Exponential backoff: the delay before retry number `attempt` (0-based),
 * `baseMs · 2^attempt`, capped at `maxMs`. The one backoff rule of every retry loop
 * in Tally (dead-letter writes, consumer reopening, KV watches, client reads).
 *
 * @example
 * ```ts
 * backoffMs(0) // 100
 * backoffMs(10) // 5000
 * backoffMs(2, { baseMs: 25, maxMs: 1000 }) // 100
 * ```
 */
export function backoffMs(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 100;
  const max = opts.maxMs ?? 5000;
  // The exponent is capped so a long outage's attempt count cannot reach Infinity.
  return Math.min(max, base * 2 ** Math.min(Math.max(0, attempt), 30));
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
