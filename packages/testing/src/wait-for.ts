import { TestingError, TestingErrorCode } from "./errors.js";

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long. @default 10000 */
  timeoutMs?: number;
  /** Pause between attempts. @default 50 */
  intervalMs?: number;
  /** What was awaited; leads the timeout error's message. @default "condition" */
  message?: string;
  /**
   * Longest one attempt may take: an attempt still pending after this long is abandoned
   * (counted as "not yet", and named in the timeout error) and the next one starts. For
   * checks that can hang on a busy machine (a request whose reply never comes), so one
   * stuck attempt does not use up the whole deadline.
   * @default timeoutMs (an attempt may take until the deadline)
   */
  attemptTimeoutMs?: number;
}

/**
 * Polls `fn` until it returns (or resolves to) a truthy value, and resolves to that value.
 * A throw or rejection counts as "not yet": it is remembered and polling goes on. At the
 * deadline it rejects with a {@link TestingError} (`WAIT_TIMEOUT`) whose message holds
 * `message` and the last error (also set as `cause`). An attempt that hangs is abandoned
 * after `attemptTimeoutMs` (and at the latest at the deadline), so `waitFor` itself never
 * outlives `timeoutMs` by more than a tick.
 *
 * Assertion-style checks should `return true` at their end.
 *
 * @example
 * const port = await waitFor(() => readPort(file), { message: "ports file", timeoutMs: 5000 });
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const what = opts.message ?? "condition";
  const attemptTimeoutMs = opts.attemptTimeoutMs ?? timeoutMs;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new TestingError(
      TestingErrorCode.BadOption,
      `waitFor: timeoutMs must be a finite number >= 0, got ${timeoutMs}`,
    );
  }
  if (!Number.isFinite(attemptTimeoutMs) || attemptTimeoutMs <= 0) {
    throw new TestingError(
      TestingErrorCode.BadOption,
      `waitFor: attemptTimeoutMs must be a finite number > 0, got ${attemptTimeoutMs}; leave it out to let an attempt run until the deadline`,
    );
  }
  if (!Number.isFinite(intervalMs) || intervalMs < 0) {
    throw new TestingError(
      TestingErrorCode.BadOption,
      `waitFor: intervalMs must be a finite number >= 0, got ${intervalMs}`,
    );
  }

  const deadline = Date.now() + timeoutMs;
  let last: { kind: "falsy" } | { kind: "hung" } | { kind: "error"; error: unknown };
  let attempts = 0;
  let hung = 0;
  for (;;) {
    attempts++;
    try {
      const outcome = await raceDeadline(Promise.resolve().then(fn), Math.min(deadline - Date.now(), attemptTimeoutMs));
      if (outcome.done && outcome.value) return outcome.value as NonNullable<T>;
      if (!outcome.done) hung++;
      last = outcome.done ? { kind: "falsy" } : { kind: "hung" };
    } catch (error) {
      last = { kind: "error", error };
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const detail =
        last.kind === "error"
          ? `last error: ${describe(last.error)}`
          : last.kind === "hung"
            ? "last attempt did not settle in time"
            : "last attempt returned a falsy value";
      const stuck = hung > 0 ? `; ${hung} attempts abandoned after ${attemptTimeoutMs} ms` : "";
      throw new TestingError(
        TestingErrorCode.WaitTimeout,
        `Timed out waiting for ${what} after ${timeoutMs} ms (${attempts} attempts); ${detail}${stuck}`,
        { cause: last.kind === "error" ? last.error : undefined },
      );
    }
    await sleep(Math.min(intervalMs, remaining));
  }
}

type Outcome<T> = { done: true; value: T } | { done: false };

/**
 * Settles with the attempt, or with `{ done: false }` once `ms` have passed. The timer is a
 * macrotask, so an attempt that settles synchronously still wins even when `ms <= 0`.
 */
function raceDeadline<T>(attempt: Promise<T>, ms: number): Promise<Outcome<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve({ done: false }), Math.max(ms, 0));
    // Both handlers stay attached, so a late rejection of a hung attempt is not unhandled.
    attempt.then(
      (value) => {
        clearTimeout(timer);
        resolve({ done: true, value });
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
