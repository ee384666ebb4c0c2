/** Clocks and pauses shared by the benchmarks. */

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise<void>((r) => setTimeout(r, ms));

/** A monotonic instant in nanoseconds (`process.hrtime.bigint()`), for {@link msSince}. */
export const hrNow = (): bigint => process.hrtime.bigint();

/** Milliseconds from the {@link hrNow} instant `t` to `to` (default: now). */
export const msSince = (t: bigint, to: bigint = hrNow()): number => Number(to - t) / 1e6;

/** A monotonic instant in milliseconds (`performance.now()`); differences are durations. */
export const nowMs = (): number => performance.now();

/** A progress line on stderr, so stdout holds only the results. */
export const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);
