import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { ExecutionContext } from "ava";

/** What a background loop needs from a NATS connection: whether it has closed. */
export interface Closable {
  isClosed(): boolean;
}

/** Options of {@link backgroundLoop}. */
export interface BackgroundLoopOptions {
  /** Names the loop in error messages. */
  name: string;
  /**
   * The connection the loop works on: once it is closed (the test ended, or failed and
   * its teardown closed it) the loop ends, instead of spinning on calls that now reject
   * at once.
   */
  nc?: Closable;
  /**
   * The loop ends after this long even if nobody stopped it, with an error that says so.
   * A backstop for a forgotten `stop()`: keep it above the test's own waits.
   * @default 240000
   */
  timeoutMs?: number;
  /** How many copies of `step` run side by side. @default 1 */
  concurrency?: number;
  /**
   * How long `stop()` waits for the steps in flight to finish before it rejects (the
   * abandoned steps end when their connection closes in a later teardown).
   * @default 60000
   */
  stopTimeoutMs?: number;
}

/** A loop started by {@link backgroundLoop}. */
export interface BackgroundLoop {
  /** Steps completed so far, over every worker. */
  readonly iterations: number;
  /** False once the loop ended: stopped, failed, past its deadline or its connection closed. */
  readonly running: boolean;
  /**
   * Ends the loop after the steps in flight and waits for them. Rejects with the error a
   * step threw (which ended the loop), or when the loop ran past its deadline or did not
   * end within `stopTimeoutMs`. Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * Runs `step` over and over in the background of a test, so it can never outlive the
 * test: it ends when `stop()` is called (also registered in `t.teardown`, so a test that
 * throws stops it too), when its NATS connection is closed, or at its deadline; and it
 * yields to the event loop (a macrotask) after every step, so even a step that rejects at
 * once cannot starve timers and I/O — ava's own timeout included.
 *
 * A step that throws ends the loop; `stop()` then rejects with that error. Steps that
 * expect failures (reads during a hand-off) catch them themselves.
 *
 * @example
 * const reader = backgroundLoop(t, { name: "reader", nc }, async () => {
 *   await client.get("load", "k1");
 * });
 * // …
 * await reader.stop();
 */
export function backgroundLoop(
  t: Pick<ExecutionContext, "teardown">,
  opts: BackgroundLoopOptions,
  step: (worker: number) => Promise<void>,
): BackgroundLoop {
  const { name, nc, timeoutMs = 240_000, concurrency = 1, stopTimeoutMs = 60_000 } = opts;
  const deadline = performance.now() + timeoutMs;
  let stopping = false;
  let failure: unknown;
  let iterations = 0;
  let live = concurrency;

  const worker = async (w: number): Promise<void> => {
    try {
      while (!stopping && failure === undefined && !nc?.isClosed()) {
        if (performance.now() > deadline) {
          failure ??= new Error(`background loop "${name}" still running ${timeoutMs} ms after it started: stop it`);
          return;
        }
        await step(w);
        iterations++;
        await yieldToEventLoop();
      }
    } catch (err) {
      failure ??= err;
    } finally {
      live--;
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([
        done.then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), stopTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (!ended) throw new Error(`background loop "${name}": steps in flight did not end within ${stopTimeoutMs} ms`);
      if (failure !== undefined) throw failure;
    })();
    return stopped;
  };
  // After a failed test the loop must still end; its error was the test's to report.
  t.teardown(() => stop().catch(() => undefined));

  return {
    get iterations() {
      return iterations;
    },
    get running() {
      return live > 0;
    },
    stop,
  };
}
