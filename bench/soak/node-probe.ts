/**
 * What the soak reads off a running node process: its resident memory from `/proc`, its
 * `/status` (entries, event-loop delay) and its `/metrics` (Prometheus text).
 */
import { readFileSync } from "node:fs";

/** Resident memory of a process now (`VmRSS`) and at its peak so far (`VmHWM`), in bytes. */
export interface Rss {
  rss: number;
  peak: number;
}

/** `VmRSS` and `VmHWM` of `pid` from `/proc/<pid>/status`; undefined once it is gone. */
export function procRss(pid: number | undefined): Rss | undefined {
  if (pid === undefined) return undefined;
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN) * 1024;
    return { rss: kb("VmRSS"), peak: kb("VmHWM") };
  } catch {
    return undefined;
  }
}

/** The parts of a node's `/status` the soak uses. */
export interface NodeStatus {
  eventLoopDelayMs: { p50: number; p99: number; max: number; samples: number };
  shards: { shard: number; entries: number; eventsApplied: number; ready: boolean; source: string }[];
}

/** The node's `/status`, or undefined when it does not answer (starting, stopping). */
export async function nodeStatus(port: number): Promise<NodeStatus | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(10_000) });
    return r.ok ? ((await r.json()) as NodeStatus) : undefined;
  } catch {
    return undefined;
  }
}

/** Entries over every shard a `/status` lists. */
export const entriesOf = (s: NodeStatus): number => s.shards.reduce((a, x) => a + x.entries, 0);

/** One scrape of `/metrics`: each sample line's value by its series (`name{labels}` as printed). */
export class Metrics {
  readonly #series = new Map<string, number>();

  constructor(text: string) {
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const sp = line.lastIndexOf(" ");
      this.#series.set(line.slice(0, sp), Number(line.slice(sp + 1)));
    }
  }

  /**
   * The sum over the series of `name` whose labels include `labels`; 0 when there is none
   * (prom-client prints no line for a labelled counter never incremented).
   */
  value(name: string, labels: Record<string, string> = {}): number {
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    let sum = 0;
    for (const [series, v] of this.#series) {
      const brace = series.indexOf("{");
      if ((brace < 0 ? series : series.slice(0, brace)) !== name) continue;
      if (want.every((w) => series.includes(w))) sum += v;
    }
    return sum;
  }

  /** Whether any series of `name` was printed. */
  has(name: string): boolean {
    for (const series of this.#series.keys()) if (series === name || series.startsWith(`${name}{`)) return true;
    return false;
  }
}

/** One `/metrics` scrape (this also ends the event-loop delay window of the gauge). */
export async function scrape(port: number): Promise<Metrics> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`/metrics answered ${r.status}`);
  return new Metrics(await r.text());
}

/** The checkpoint figures of one scrape: bytes written by part kind (base, delta, compaction), and leases lost. */
export function checkpointFigures(m: Metrics) {
  return {
    baseBytes: m.value("tally_checkpoint_bytes_written_total", { kind: "base" }),
    deltaBytes: m.value("tally_checkpoint_bytes_written_total", { kind: "delta" }),
    compactionBytes: m.value("tally_checkpoint_bytes_written_total", { kind: "compaction" }),
    totalBytes: m.value("tally_checkpoint_bytes_written_total"),
    leasesLost: m.value("tally_leases_lost_total"),
    heapUsed: m.value("nodejs_heap_size_used_bytes"),
  };
}

/** Event-loop delay since the previous scrape, in ms (the gauge's window). */
export function eventLoopWindow(m: Metrics) {
  const s = (stat: string) => m.value("tally_event_loop_delay_seconds", { stat }) * 1000;
  return { p50: s("p50"), p99: s("p99"), max: s("max") };
}

/** Lease lapses a node logged: warnings whose message says a lease lapsed or was lost. */
export function leaseLapseLines(warnings: Record<string, number>): number {
  let n = 0;
  for (const [msg, count] of Object.entries(warnings)) if (/lapsed|lease lost/.test(msg)) n += count;
  return n;
}
