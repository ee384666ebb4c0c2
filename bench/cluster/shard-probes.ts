/** Shard probes: one loop per shard reading one counter of that shard again and again. */
import type { TallyClient } from "@tally/client";
import { waitFor } from "@tally/testing";
import { halted } from "../lib/cleanup.js";
import { nowMs, sleep } from "../lib/time.js";
import { LOAD_NS, PROBE_PAUSE_MS } from "./options.js";

/** One probe read: when it started and ended ({@link nowMs}), and whether it answered. */
export interface ProbeRead {
  start: number;
  end: number;
  ok: boolean;
}

/** A read loop per probe key (index = shard), `--probe-pause` ms between two reads. */
export class ShardProbes {
  readonly reads: ProbeRead[][];
  readonly failures: string[] = [];
  /** Answers lower than an earlier answer of the same counter (a counter never goes down here). */
  backwards = 0;
  #stop = false;
  readonly #loops: Promise<void>[];

  constructor(client: TallyClient, keys: string[]) {
    this.reads = keys.map(() => []);
    this.#loops = keys.map(async (name, s) => {
      let last = -1;
      while (!this.#stop && !halted()) {
        const start = nowMs();
        try {
          const r = await client.get(LOAD_NS, name);
          this.reads[s]!.push({ start, end: nowMs(), ok: true });
          if (r.value < last) this.backwards++;
          last = r.value;
        } catch (err) {
          this.reads[s]!.push({ start, end: nowMs(), ok: false });
          this.failures.push(`shard ${s} (${name}): ${(err as Error).message}`);
        }
        await sleep(PROBE_PAUSE_MS);
      }
    });
  }

  /** Resolves once every loop has finished a read that started after `t`. */
  answeredSince(t: number, timeoutMs: number): Promise<boolean> {
    return waitFor(() => this.reads.every((rs) => rs.some((r) => r.start >= t)), {
      timeoutMs,
      intervalMs: 50,
      message: "every probe answered after the join settled",
    });
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#loops);
  }

  /** Longest read of shard `s` that ended at or after `from`. */
  longest(s: number, from: number): number {
    let max = 0;
    for (const r of this.reads[s]!) if (r.end >= from) max = Math.max(max, r.end - r.start);
    return max;
  }
}
