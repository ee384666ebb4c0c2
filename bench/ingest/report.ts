/** The printed table and `details` block of bench/ingest.ts. */
import type { CpuDelta } from "../lib/cpu.js";
import type { LatencyStats } from "../lib/stats.js";
import { fmt as f, int, printRows, warningList, yes } from "../lib/table.js";
import type { MemoryFigures } from "./helpers.js";
import { READ_UNDER_LOAD_TARGET } from "./ingest-phase.js";

type Latency = Pick<LatencyStats, "p50" | "p99" | "p999" | "max">;

/** The parts of the results the report shows. */
export interface IngestReport {
  params: { events: number; shards: number };
  ingest: {
    tally: {
      eventsPerSec: number;
      exact: boolean;
      publishMs: number;
      totalMs: number;
      nodeAppliedAtPublishEnd: number | undefined;
      cpu: CpuDelta;
    };
    raw: { eventsPerSec: number; publishMs: number; consumerCpuMs: number; cpu: CpuDelta };
    ratio: number;
    met: boolean;
  };
  reads: {
    tally: Latency;
    echo: Latency;
    client: Latency;
    met: boolean;
  };
  readsDuringIngest: {
    tally: Latency & { count: number; errors: number };
    echo: Latency & { count: number };
    echoRawIngest: Latency;
    p99Ratio: number;
    met: boolean;
  };
  replay: {
    tally: {
      eventsPerSec: number;
      exact: boolean;
      readyMs: number;
      totalMs: number;
      peakAppliedPerSec: number;
      cpu: CpuDelta;
      nodeWarnings: Record<string, number>;
    };
    raw: { eventsPerSec: number; totalMs: number; afterReadyMs: number };
    rawFilteredPerShard: { totalMs: number; eventsPerSec: number; cpu: CpuDelta };
    events: number;
    ratio: number;
    met: boolean;
  };
  memory: MemoryFigures & { met: boolean };
}

/** The headline table: each Tally figure next to its baseline and target. */
export function printTable(r: IngestReport): void {
  const ms = (a: number, b: number) => `${a.toFixed(2)} / ${b.toFixed(2)}`;
  // Truncated, so a ratio just under a target never prints as meeting it.
  const ratio = (v: number) => (Math.floor(v * 100) / 100).toFixed(2);
  // Rounded up for an upper bound, for the same reason.
  const ratioUp = (v: number) => (Math.ceil(v * 100) / 100).toFixed(2);
  type Rates = IngestReport["ingest"] | IngestReport["replay"];
  const rateRow = (name: string, x: Rates) => [
    `${name} events/s`,
    int(x.tally.eventsPerSec),
    int(x.raw.eventsPerSec),
    ratio(x.ratio),
    "≥ 0.8",
    yes(x.met),
  ];
  const exactRow = (name: string, x: Rates) => [
    `${name} exact`,
    String(x.tally.exact),
    "",
    "",
    "true",
    yes(x.tally.exact),
  ];
  printRows([
    ["metric", "tally", "baseline", "ratio", "target", "met"],
    rateRow("ingest", r.ingest),
    exactRow("ingest", r.ingest),
    [
      "read p50 ms / p99 ms",
      ms(r.reads.tally.p50, r.reads.tally.p99),
      ms(r.reads.echo.p50, r.reads.echo.p99),
      "",
      "p99 < 2 ms",
      yes(r.reads.met),
    ],
    [
      "read p50 / p99 ms during ingest",
      ms(r.readsDuringIngest.tally.p50, r.readsDuringIngest.tally.p99),
      ms(r.readsDuringIngest.echo.p50, r.readsDuringIngest.echo.p99),
      ratioUp(r.readsDuringIngest.p99Ratio),
      `p99 ≤ ${READ_UNDER_LOAD_TARGET} × echo`,
      yes(r.readsDuringIngest.met),
    ],
    rateRow("replay", r.replay),
    exactRow("replay", r.replay),
    [
      "memory bytes/entry",
      r.memory.tally.bytesPerEntry.toFixed(1),
      r.memory.baseline.bytesPerEntry.toFixed(1),
      "",
      "≤ 150",
      yes(r.memory.met),
    ],
  ]);
}

/** Where the time goes: what to look at when a ratio is off. */
export function printDetails(r: IngestReport, resultsPath: string): void {
  const N = r.params.events;
  const k = (v: number) => `${(v / 1000).toFixed(1)}k/s`;
  const cores = (c: CpuDelta, name: string) => f(c.processes[name]?.cores, 2);
  const ti = r.ingest.tally;
  const ri = r.ingest.raw;
  const tr = r.replay.tally;
  const rr = r.replay.raw;
  const filteredReplay = r.replay.rawFilteredPerShard;
  const { reads, memory } = r;
  console.log("\ndetails");
  console.log(
    `  ingest   publish-only: tally ${k(N / (ti.publishMs / 1000))}, raw ${k(N / (ri.publishMs / 1000))}; ` +
      `tally visible ${f(ti.totalMs - ti.publishMs)} ms after the last ack (node had applied ${f(ti.nodeAppliedAtPublishEnd)} of ${N} then)`,
  );
  console.log(
    `           CPU cores: tally run bench ${cores(ti.cpu, "bench")}, nats-server ${cores(ti.cpu, "natsServer")}, node ${cores(ti.cpu, "node")}, machine busy ${f((ti.cpu.machineBusy ?? NaN) * 100)}%; ` +
      `raw run bench ${cores(ri.cpu, "bench")}, nats-server ${cores(ri.cpu, "natsServer")}, consumer ${f(ri.consumerCpuMs / 1000 / ri.cpu.wallSec, 2)}, machine busy ${f((ri.cpu.machineBusy ?? NaN) * 100)}%`,
  );
  console.log(
    `           node CPU per event ${f(((ti.cpu.processes.node?.cpuSec ?? NaN) / N) * 1e6, 1)} µs, raw consumer ${f((ri.consumerCpuMs / N) * 1e3, 1)} µs`,
  );
  const du = r.readsDuringIngest;
  console.log(
    `  reads    during ingest (${du.tally.count} ticks, a read and an echo each): max tally ${f(du.tally.max, 0)} ms, echo ${f(du.echo.max, 0)} ms; ` +
      `failed reads ${du.tally.errors}; echo during the raw ingest p50/p99 ${f(du.echoRawIngest.p50, 2)} / ${f(du.echoRawIngest.p99, 2)} ms`,
  );
  console.log(
    `           client.get p50/p99 ${f(reads.client.p50, 2)} / ${f(reads.client.p99, 2)} ms; p99.9 tally ${f(reads.tally.p999, 2)}, echo ${f(reads.echo.p999, 2)} ms`,
  );
  console.log(
    `  replay   tally: node ready ${f(tr.readyMs)} ms after spawn, all shards at seq ${r.replay.events} after ${f(tr.totalMs)} ms, ` +
      `peak apply ${k(tr.peakAppliedPerSec)}; nats-server ${cores(tr.cpu, "natsServer")} cores, node ${cores(tr.cpu, "node")} cores`,
  );
  if (Object.keys(tr.nodeWarnings).length > 0) console.log(`           node warnings: ${warningList(tr.nodeWarnings)}`);
  console.log(
    `           raw: 1 ordered consumer ${f(rr.totalMs)} ms from spawn (${f(rr.afterReadyMs)} after ready); ` +
      `${r.params.shards} filtered consumers ${f(filteredReplay.totalMs)} ms (${k(filteredReplay.eventsPerSec)}, nats-server ${cores(filteredReplay.cpu, "natsServer")} cores)`,
  );
  console.log(
    `  memory   ${memory.entries} entries over ${memory.counters} counters; with dirty marks (before a snapshot) ${f(memory.tallyWithDirty.bytesPerEntry, 1)} B/entry; ` +
      `one Map per counter ${f(memory.nestedMaps.bytesPerEntry, 1)} B/entry; pure apply ${k(memory.applyEventsPerSec)}`,
  );
  console.log(`\nresults: ${resultsPath}`);
}
