/** A loop that takes one sample every few ms until stopped (a failed sample is skipped). */
import { halted } from "../lib/cleanup.js";
import { sleep } from "../lib/time.js";

/** Takes `take()` every `everyMs` (after the previous one ended) until {@link stop}. */
export class Sampler<T> {
  readonly samples: T[] = [];
  /** Samples that threw (the node was busy or going down), and the first error. */
  failures = 0;
  firstFailure: string | undefined;
  #stop = false;
  readonly #loop: Promise<void>;

  constructor(everyMs: number, take: () => Promise<T | undefined>) {
    this.#loop = (async () => {
      while (!this.#stop && !halted()) {
        const t = performance.now();
        try {
          const s = await take();
          if (s !== undefined) this.samples.push(s);
        } catch (err) {
          this.failures++;
          this.firstFailure ??= String(err);
        }
        await sleep(Math.max(0, everyMs - (performance.now() - t)));
      }
    })();
  }

  /** Ends the loop after its current sample; resolves with every sample. */
  async stop(): Promise<T[]> {
    this.#stop = true;
    await this.#loop;
    return this.samples;
  }
}

/** Min, max and median of some numbers (NaN when there are none). */
export function spread(xs: number[]): { min: number; max: number; median: number; n: number } {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return { min: NaN, max: NaN, median: NaN, n: 0 };
  const mid = Math.floor(s.length / 2);
  return {
    min: s[0]!,
    max: s[s.length - 1]!,
    median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2,
    n: s.length,
  };
}
