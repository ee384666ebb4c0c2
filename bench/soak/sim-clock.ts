/**
 * The simulated clock of the months phase. The node runs on `TALLY_CLOCK_START` and
 * `TALLY_CLOCK_RATE`; the events the soak publishes carry a `ts` from the same clock, so
 * event time and the node's expiry move together.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { sleep } from "../lib/time.js";

const MINUTE = 60_000;

/** Simulated epoch ms: `startMs` at real instant `realOrigin` (`Date.now()`), `rate` simulated ms per real ms. */
export class SimClock {
  constructor(
    readonly startMs: number,
    readonly rate: number,
    readonly realOrigin = Date.now(),
  ) {}

  /** Simulated time at real instant `real` (default now). */
  now(real = Date.now()): number {
    return this.startMs + Math.floor((real - this.realOrigin) * this.rate);
  }

  /** Simulated ms since the clock started. */
  elapsed(real = Date.now()): number {
    return this.now(real) - this.startMs;
  }
}

/**
 * The node's own clock, found from its reads: a minute series that reaches before the
 * minute retention comes back with `retainedFrom`, the start of the oldest minute kept, so
 * the node's now lies in [retainedFrom + keep, + 1 minute). `guess` is the bench's clock
 * (the node started its own a moment after the bench set `TALLY_CLOCK_START`, so it runs
 * behind by that moment times the rate). Returns a clock in step with the node's within
 * half a simulated minute, and how far the node was behind `guess`.
 */
export async function alignWithNode(
  nc: NatsConnection,
  ns: string,
  keepMinuteMs: number,
  guess: SimClock,
): Promise<{ clock: SimClock; behindMs: number }> {
  const deadline = Date.now() + 60_000;
  let shift = 0;
  for (;;) {
    const to = guess.now() - shift - keepMinuteMs + 60 * MINUTE;
    const from = to - 900 * MINUTE;
    const sent = Date.now();
    const m = await nc
      .request(`count.get.${ns}.clock-probe`, JSON.stringify({ period: "minute", from, to }), { timeout: 5000 })
      .catch(() => undefined);
    const mid = (sent + Date.now()) / 2;
    const r = m?.json<{ retainedFrom?: string; points?: unknown[]; error?: { code: string } }>();
    if (r?.points && r.retainedFrom !== undefined) {
      const nodeNow = Date.parse(r.retainedFrom) + keepMinuteMs + MINUTE / 2;
      return { clock: new SimClock(nodeNow, guess.rate, mid), behindMs: guess.now(mid) - nodeNow };
    }
    // Nothing clipped: the node's clock is more than the window behind; look further back.
    if (r?.points) shift += 840 * MINUTE;
    if (Date.now() > deadline) throw new Error(`could not read the node's clock: ${JSON.stringify(r)}`);
    if (!r?.points) await sleep(50);
  }
}
