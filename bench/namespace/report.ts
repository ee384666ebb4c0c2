/** The summary and the printed table of bench/namespace.ts. */
import { fmt, printRows } from "../lib/table.js";
import type { Round } from "../namespace.js";
import type { Rss } from "../soak/node-probe.js";
import type { LoopDelay } from "./event-loop.js";
import type { CpuPerRequest } from "./measure.js";
import type { ReadKind } from "./requests.js";
import type { ScanCosts } from "./scan-cost.js";

/** One kind's figures over every round: one value per round, in round order. */
export interface KindSummary {
  id: string;
  label: string;
  idle: { p50: number[]; p99: number[] };
  load: { p50: number[]; p99: number[] };
  /** p99 / the same round's `count.get` p99 (idle). */
  idleP99PerGet: number[];
  /** p99 / the same round's echo p99 (idle). */
  idleP99PerEcho: number[];
  /** Partial replies (some shard missing at the gather deadline), per round: idle, load. */
  partial: { idle: number[]; load: number[] };
  /** Requests that had to be sent again (no responders, retryable error), per round: idle, load. */
  retried: { idle: number[]; load: number[] };
  /** Requests with no answer within the bench's retry deadline, per round: idle, load. */
  failed: { idle: number[]; load: number[] };
  /** The nodes' CPU ms per request (summed over the nodes), per idle round. */
  nodeCpuMs: (number | undefined)[];
  /** Each node's CPU ms per request, by node id, per idle round. */
  perNodeCpuMs: Record<string, number | undefined>[];
  /** nats-server CPU ms per request, per idle round. */
  serverCpuMs: (number | undefined)[];
  /** The 64 shards' scans alone, in-process, CPU ms per request (kinds that scan). */
  scanCpuMs?: number;
}

/** Every kind's figures, per round, with the ratios against both baselines of the same round. */
export function summarize(
  kinds: ReadKind[],
  rounds: Round[],
  cpu: { perKind: Record<string, CpuPerRequest> }[],
  scan: ScanCosts,
): KindSummary[] {
  const of = (config: Round["config"]) => rounds.filter((r) => r.config === config);
  return kinds.map((k) => {
    const s: KindSummary = {
      id: k.id,
      label: k.label,
      idle: { p50: of("idle").map((r) => r.latency[k.id]!.p50), p99: of("idle").map((r) => r.latency[k.id]!.p99) },
      load: { p50: of("load").map((r) => r.latency[k.id]!.p50), p99: of("load").map((r) => r.latency[k.id]!.p99) },
      partial: {
        idle: of("idle").map((r) => r.latency[k.id]!.partial),
        load: of("load").map((r) => r.latency[k.id]!.partial),
      },
      retried: {
        idle: of("idle").map((r) => r.latency[k.id]!.retried),
        load: of("load").map((r) => r.latency[k.id]!.retried),
      },
      failed: {
        idle: of("idle").map((r) => r.latency[k.id]!.failed),
        load: of("load").map((r) => r.latency[k.id]!.failed),
      },
      idleP99PerGet: of("idle").map((r) => r.latency[k.id]!.p99 / r.latency.get!.p99),
      idleP99PerEcho: of("idle").map((r) => r.latency[k.id]!.p99 / r.latency.echo!.p99),
      nodeCpuMs: cpu.map((c) => c.perKind[k.id]?.nodeMs),
      perNodeCpuMs: cpu.map((c) => c.perKind[k.id]?.perNodeMs ?? {}),
      serverCpuMs: cpu.map((c) => c.perKind[k.id]?.natsServerMs),
    };
    if (scan[k.id]) s.scanCpuMs = scan[k.id]!.cpuMs;
    return s;
  });
}

/** Values of the rounds, comma-separated. */
const each = (v: (number | undefined)[], d: number): string => v.map((x) => fmt(x, d)).join(", ");

/** Partial, retried and failed requests of each round of a config, as `0/0/0, 0/2/0`. */
const trouble = (s: KindSummary, config: "idle" | "load"): string =>
  s[config].p50.map((_, r) => `${s.partial[config][r]}/${s.retried[config][r]}/${s.failed[config][r]}`).join(", ");

/** The lease lapses a node logs when it was starved. */
const LAPSE = "stopped serving shard: lease lapsed before it could be renewed";

/** Lease lapses summed over the nodes, from their warnings by node id. */
const lapses = (w: Record<string, Record<string, number>>): number =>
  Object.values(w).reduce((n, byMsg) => n + (byMsg[LAPSE] ?? 0), 0);

/** Per node `n1 a/b, n2 c/d`: event-loop delay p99/max ms. */
const delays = (d: Record<string, LoopDelay>): string =>
  Object.entries(d)
    .map(([id, x]) => `${id} ${fmt(x.p99)}/${fmt(x.max)}`)
    .join(", ");

/** Per node `n1 a/b, n2 c/d`: resident memory now/peak in MB. */
const rss = (r: Record<string, Rss | undefined>): string =>
  Object.entries(r)
    .map(([id, x]) => `${id} ${fmt(x && x.rss / 2 ** 20)}/${fmt(x && x.peak / 2 ** 20)}`)
    .join(", ");

/** The table: one line per kind, every round's figure; then the nodes' figures and the target. */
export function printTable(results: {
  params: { nodes: number; counters: number };
  summary: KindSummary[];
  target: { what: string; thresholdMs: number; p99PerRound: number[]; worstP99: number; met: boolean };
  fill: {
    nodeLoopDelay: Record<string, LoopDelay>;
    nodeWarnings: Record<string, Record<string, number>>;
    nodeRss: Record<string, Rss | undefined>;
  };
  dataset: { countersInDayBucket: number; countersPerShard: { min: number; max: number } };
  rounds: Round[];
  env: { loadavgAtStart: number[] };
}): void {
  const rows = [
    [
      "request (ms; one value per round)",
      "idle p50",
      "idle p99",
      "load p50",
      "load p99",
      "idle p99 / get",
      "idle p99 / echo",
      `CPU/req, sum of ${results.params.nodes} node${results.params.nodes === 1 ? "" : "s"}`,
      "server CPU/req",
      "scans alone CPU",
      "partial/retried/failed idle",
      "… load",
    ],
  ];
  for (const s of results.summary) {
    rows.push([
      s.label,
      each(s.idle.p50, 2),
      each(s.idle.p99, 2),
      each(s.load.p50, 2),
      each(s.load.p99, 2),
      each(s.idleP99PerGet, 1),
      each(s.idleP99PerEcho, 1),
      s.id === "echo" ? "" : each(s.nodeCpuMs, 2),
      s.id === "echo" ? "" : each(s.serverCpuMs, 2),
      s.scanCpuMs === undefined ? "" : fmt(s.scanCpuMs, 2),
      trouble(s, "idle"),
      trouble(s, "load"),
    ]);
  }
  printRows(rows);
  const loads = results.rounds.filter((r) => r.load).map((r) => fmt(r.load!.ackedPerSec));
  const avgs = results.rounds.map((r) => fmt(r.loadavgAtStart[0], 1));
  console.log(
    `\n${results.params.counters} counters, ${results.dataset.countersInDayBucket} in the day bucket read; ` +
      `${results.dataset.countersPerShard.min}–${results.dataset.countersPerShard.max} counters per shard; ` +
      `load rounds at ${loads.join(", ")} acked/s; 1-min load average at each round: ${avgs.join(", ")} ` +
      `(at start ${fmt(results.env.loadavgAtStart[0], 1)})`,
  );
  const top10 = results.summary.find((s) => s.id === "top10");
  if (top10)
    console.log(
      `top day 10, CPU ms per request by node (idle rounds): ` +
        top10.perNodeCpuMs
          .map((byNode) =>
            Object.entries(byNode)
              .map(([id, v]) => `${id} ${fmt(v, 2)}`)
              .join(", "),
          )
          .join("; "),
    );
  const f = results.fill;
  let before = lapses(f.nodeWarnings);
  const phases = results.rounds.map((r) => {
    const now = lapses(r.nodeWarningsSoFar);
    const line = `${r.config} ${r.round}: ${delays(r.nodeLoopDelay)} ms, ${now - before} lapses`;
    before = now;
    return line;
  });
  console.log(
    `node event-loop delay p99/max, lease lapses: fill: ${delays(f.nodeLoopDelay)} ms, ${lapses(f.nodeWarnings)} lapses`,
  );
  for (const p of phases) console.log(`  ${p}`);
  console.log(`node RSS now/peak MB: after the fill: ${rss(f.nodeRss)}`);
  for (const r of results.rounds) console.log(`  ${r.config} ${r.round}: ${rss(r.nodeRss)}`);
  const t = results.target;
  console.log(
    `\nTARGET top 10, day, idle: p99 ${fmt(t.worstP99, 2)} ms (worst of rounds: ${each(t.p99PerRound, 2)}), ` +
      `target < ${t.thresholdMs} ms, ${t.met ? "met" : "NOT MET"} (${t.what})`,
  );
}
