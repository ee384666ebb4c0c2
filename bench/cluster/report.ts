/** The printed table and `details` block of bench/cluster.ts. */
import { fmt as f, int, printRows, warningList, yes } from "../lib/table.js";
import type { measureFailover } from "./failover.js";
import type { measureJoin } from "./join.js";
import { LOAD_KEYS, PROBE_PAUSE_MS, RATE, TARGETS } from "./options.js";
import type { restorePhase } from "./restore.js";

/** The parts of the results the report shows. */
export interface ClusterReport {
  failover: Awaited<ReturnType<typeof measureFailover>>;
  join: Awaited<ReturnType<typeof measureJoin>>["join"];
  load: { acked: number; publishErrors: number; exact: boolean };
  restore: Awaited<ReturnType<typeof restorePhase>>;
  nodeWarnings: Record<string, Record<string, number>>;
  runMs: number;
}

/** The headline table: each figure next to its baseline and target. */
export function printTable(r: ClusterReport): void {
  const ratio = (v: number) => v.toFixed(2);
  const g = r.join.handoffGap;
  // An informative comparison of two rates: no target.
  const rateRow = (name: string, rate: number, base: number, baseName: string, v: number) => [
    name,
    int(rate),
    `${int(base)} (${baseName})`,
    ratio(v),
    "",
    "",
  ];
  const { restore, raw, pureReplay } = r.restore;
  printRows([
    ["metric", "tally", "baseline", "ratio", "target", "met"],
    ["failover ms (kill -9 → owned + read)", int(r.failover.ms), "", "", "≤ 10,000", yes(r.failover.met)],
    ["  leases moved ms", int(r.failover.leasesMovedMs), "", "", "", ""],
    ["  reads answered ms", int(r.failover.readsAnsweredMs), "", "", "", ""],
    [
      "hand-off gap p50 / p99 / max ms",
      `${int(g.p50)} / ${int(g.p99)} / ${int(g.max)}`,
      "",
      "",
      "p99 ≤ 1,000",
      yes(g.p99 <= TARGETS.handoffGapP99Ms),
    ],
    ["reads failed during join", String(g.readsFailed), "", "", "0", yes(g.readsFailed === 0)],
    [
      "shards moved on join",
      String(r.join.moves.moved),
      `P/(N+1) = ${r.join.moves.ideal.toFixed(1)}`,
      ratio(r.join.moves.ratio),
      "≤ 1.1",
      yes(r.join.moves.met),
    ],
    rateRow("restore events/s (checkpoints)", restore.eventsPerSec, raw.eventsPerSec, "raw", r.restore.ratioVsRaw),
    rateRow(
      "  vs pure replay events/s",
      restore.eventsPerSec,
      pureReplay.eventsPerSec,
      "replay",
      r.restore.ratioVsPureReplay,
    ),
    rateRow("  pure replay vs raw", pureReplay.eventsPerSec, raw.eventsPerSec, "raw", r.restore.pureReplayVsRaw),
    [
      "exact (load; restore)",
      `${r.load.exact}; ${r.restore.restore.exact.exact}`,
      "",
      "",
      "true",
      yes(r.load.exact && r.restore.restore.exact.exact && r.failover.wrongReads.length === 0),
    ],
  ]);
}

/** Where the time goes, and what the nodes warned about. */
export function printDetails(results: ClusterReport, resultsPath: string): void {
  const fo = results.failover;
  const jn = results.join;
  console.log("\ndetails");
  const mc = fo.survivorLogs.membersChanged[0]?.atMs;
  const st = fo.survivorLogs.shardsTaken.map((l) => l.atMs);
  console.log(
    `  failover  ${fo.shards} shards of n1; survivors saw n1 leave after ${f(mc)} ms, took its shards ${f(Math.min(...st))}–${f(Math.max(...st))} ms after the kill ` +
      `(${st.length} batches); per shard: lease ${f(fo.perShardLeaseMs.p50)} / ${f(fo.perShardLeaseMs.max)} ms, ` +
      `read ${f(fo.perShardReadMs.p50)} / ${f(fo.perShardReadMs.max)} ms (p50 / max); machine busy ${f((fo.machineBusy ?? NaN) * 100)}%`,
  );
  console.log(
    `            restored from ${JSON.stringify(fo.restoredFrom)}; n1 gone ${f(fo.victimExitedMs)} ms after SIGKILL; ` +
      `reads sent at the kill (default client) took p50 / max ${f(fo.readsSentAtKillMs.p50)} / ${f(fo.readsSentAtKillMs.max)} ms`,
  );
  console.log(
    `  join      n3 ready ${f(jn.spawnToReadyMs)} ms after spawn, balanced ${f(jn.spawnToBalancedMs)} ms after spawn; ` +
      `${jn.handoffGap.readsDuringJoin} probe reads (pause ${PROBE_PAUSE_MS} ms), unmoved shards' longest read p50 / max ` +
      `${f(jn.handoffGap.unmovedShards.p50)} / ${f(jn.handoffGap.unmovedShards.max)} ms; answers that went backwards ${jn.handoffGap.answersWentBackwards}; ` +
      `machine busy ${f((jn.machineBusy ?? NaN) * 100)}%`,
  );
  const r = results.restore;
  console.log(
    `  restore   ${r.events} events; restore ${f(r.restore.ms)} ms (sources ${JSON.stringify(r.restore.sources)}), ` +
      `pure replay ${f(r.pureReplay.ms)} ms (${JSON.stringify(r.pureReplay.sources)}), first (cold) replay ${f(r.firstReplayCold.ms)} ms, raw ${f(r.raw.ms)} ms`,
  );
  console.log(
    `  load      ${results.load.acked} acked at ${RATE}/s over ${LOAD_KEYS} counters, ${results.load.publishErrors} publish errors; exact ${results.load.exact}`,
  );
  for (const [n, w] of Object.entries(results.nodeWarnings))
    if (Object.keys(w).length > 0) console.log(`  warnings  ${n}: ${warningList(w)}`);
  console.log(`\nresults: ${resultsPath} (run ${f(results.runMs / 1000, 0)} s)`);
}
