/**
 * The node's event-loop delay over a round, from its `/metrics` (`tally_event_loop_delay_seconds`
 * covers the time since the previous scrape, and the bench is the only scraper): a node whose
 * loop waits long cannot renew its leases, so this says whether lost leases came from the node.
 */

/** Event-loop delay of a window, in ms; undefined figures when the scrape failed. */
export interface LoopDelay {
  p50?: number;
  p99?: number;
  max?: number;
}

/** Scrapes `/metrics` on `port`: the delay since the previous scrape (a new window starts). */
export async function scrapeLoopDelay(port: number): Promise<LoopDelay> {
  try {
    const text = await (
      await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })
    ).text();
    const stat = (s: string): number | undefined => {
      const m = new RegExp(`^tally_event_loop_delay_seconds\\{stat="${s}"\\} (\\S+)$`, "m").exec(text);
      return m ? Number(m[1]) * 1000 : undefined;
    };
    return { p50: stat("p50"), p99: stat("p99"), max: stat("max") };
  } catch {
    return {};
  }
}
