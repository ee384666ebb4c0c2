import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

/** Event-loop delay figures in milliseconds. */
export interface DelaySummary {
  p50: number;
  p99: number;
  max: number;
  /** Samples behind the figures. */
  samples: number;
}

/**
 * How long callbacks wait for the event loop, from `perf_hooks.monitorEventLoopDelay`
 * (10 ms resolution): since the node started, and over windows that each reader ends
 * (the metric's window is the time since the previous scrape). A node that blocks its
 * loop for long cannot renew its leases or answer reads, so this is watched.
 */
export class EventLoopDelay {
  readonly #sinceStart: IntervalHistogram;
  readonly #window: IntervalHistogram;

  constructor() {
    this.#sinceStart = monitorEventLoopDelay({ resolution: 10 });
    this.#window = monitorEventLoopDelay({ resolution: 10 });
    this.#sinceStart.enable();
    this.#window.enable();
  }

  /** Figures since the node started. */
  sinceStart(): DelaySummary {
    return summary(this.#sinceStart);
  }

  /** Figures since the previous call, then a new window starts. */
  takeWindow(): DelaySummary {
    const s = summary(this.#window);
    this.#window.reset();
    return s;
  }

  stop(): void {
    this.#sinceStart.disable();
    this.#window.disable();
  }
}

function summary(h: IntervalHistogram): DelaySummary {
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  if (h.count === 0) return { p50: 0, p99: 0, max: 0, samples: 0 };
  return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), samples: h.count };
}
