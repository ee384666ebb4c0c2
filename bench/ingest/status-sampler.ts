/** Node /status sampling: how fast the node applies, independent of the read path. */
import { msSince, sleep } from "../lib/time.js";

/** One /status answer: the events applied over all shards. */
export interface Sample {
  /** When the /status request was sent, since the phase start. */
  sentMs: number;
  /** When its answer came, since the phase start. */
  ms: number;
  applied: number;
}

/** Polls a node's `/status` every `everyMs` until stopped; skips samples while it is not up. */
export class StatusSampler {
  readonly samples: Sample[] = [];
  #stop = false;
  #loop: Promise<void>;

  constructor(port: number, since: bigint, everyMs = 200) {
    this.#loop = (async () => {
      while (!this.#stop) {
        try {
          const sentMs = msSince(since);
          const r = await fetch(`http://127.0.0.1:${port}/status`);
          const body = (await r.json()) as { shards: { eventsApplied: number }[] };
          this.samples.push({
            sentMs,
            ms: msSince(since),
            applied: body.shards.reduce((a, s) => a + s.eventsApplied, 0),
          });
        } catch {
          // node not up or going down: skip the sample
        }
        await sleep(everyMs);
      }
    })();
  }

  /** Ends the loop after its current sample; resolves with every sample. */
  async stop(): Promise<Sample[]> {
    this.#stop = true;
    await this.#loop;
    return this.samples;
  }
}

/** First sample time at which `target` events were applied, and the best rate over ≥ 1 s. */
export function applyFigures(samples: Sample[], target: number) {
  const reached = samples.find((s) => s.applied >= target);
  let peak = 0;
  for (let i = 1; i < samples.length; i++) {
    const b = samples[i]!;
    // the latest sample at least 1 s before this one
    let j = i - 1;
    while (j > 0 && b.ms - samples[j]!.ms < 1000) j--;
    const a = samples[j]!;
    if (b.ms - a.ms >= 1000) peak = Math.max(peak, ((b.applied - a.applied) / (b.ms - a.ms)) * 1000);
  }
  return { appliedAllAtMs: reached?.ms, peakAppliedPerSec: peak };
}

/** A lower bound of what the node had applied at `ms`: the last answer received by then. */
export function appliedAt(samples: Sample[], ms: number): number | undefined {
  let best: Sample | undefined;
  for (const s of samples) if (s.ms <= ms) best = s;
  return best?.applied;
}
