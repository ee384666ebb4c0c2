/** The printed table and `details` block of bench/soak.ts. */
import type { CpuDelta } from "../lib/cpu.js";
import { fmt, int, printRows, warningList, yes } from "../lib/table.js";
import type { deltaPhase } from "./bulk-delta.js";
import type { fillPhase } from "./bulk-fill.js";
import type { ingestPhase } from "./bulk-ingest.js";
import type { restorePhase } from "./bulk-restore.js";
import type { logPhase } from "./log-bound.js";
import type { monthsPhase } from "./months.js";
import type { verifyPhase } from "./verify-phase.js";

/** A phase that did not run to its end: why. */
export interface Skipped {
  met: null;
  notMeasured: string;
}

type Or<T> = T | Skipped;

/** The parts of the results the report shows. */
export interface SoakReport {
  months: Or<Awaited<ReturnType<typeof monthsPhase>>>;
  log: Or<Awaited<ReturnType<typeof logPhase>>["results"]>;
  logContrast: Or<Awaited<ReturnType<typeof logPhase>>["results"]>;
  verify: Or<Awaited<ReturnType<typeof verifyPhase>>>;
  fill: Or<Awaited<ReturnType<typeof fillPhase>>["results"]>;
  delta: Or<Awaited<ReturnType<typeof deltaPhase>>>;
  ingest: Or<Awaited<ReturnType<typeof ingestPhase>>>;
  restore: Or<Awaited<ReturnType<typeof restorePhase>>>;
  runMs: number;
}

const skipped = (x: object): x is Skipped => "notMeasured" in x && (x as Skipped).met === null;
const mib = (b: number | null | undefined) => (b === null || b === undefined ? "?" : `${fmt(b / 2 ** 20, 1)} MiB`);
const pct = (v: number) => `${fmt(v * 100, 2)} %`;
const met = (m: boolean | null) => (m === null ? "not measured" : yes(m));
/** CPU of the node and nats-server (cores) and the machine's busy share over a phase. */
const cpuText = (c: CpuDelta) =>
  `cpu: node ${fmt(c.processes.node?.cores, 2)}, nats-server ${fmt(c.processes.natsServer?.cores, 2)}, ` +
  `bench ${fmt(c.processes.bench?.cores, 2)} cores; machine ${fmt((c.machineBusy ?? NaN) * 100, 0)} % busy`;

/** The headline table: each figure, its baseline where it has one, its target and whether it is met. */
export function printTable(r: SoakReport): void {
  const rows: string[][] = [["figure", "tally", "baseline", "ratio", "target", "met"]];
  const gap = (name: string, x: Skipped) => rows.push([name, x.notMeasured, "", "", "", "not measured"]);
  const m = r.months;
  if (skipped(m)) gap("months soak", m);
  else {
    const a = m.rssAfterWindow;
    rows.push([
      `RSS after ${fmt(a.fromSimHours, 0)} simulated h, min / max`,
      `${mib(a.min)} / ${mib(a.max)}`,
      `median ${mib(a.median)}`,
      fmt(a.maxOverMin, 3),
      "within ±10 %",
      met(a.met),
    ]);
  }
  const lg = r.log;
  if (skipped(lg)) gap("event log bytes", lg);
  else {
    rows.push([
      `event log bytes, max (${int(lg.counters)} counters)`,
      mib(lg.maxBytes),
      `limit ${mib(lg.limit)}`,
      fmt(lg.maxBytes / lg.limit, 2),
      "≤ limit",
      met(lg.met),
    ]);
    const c = r.logContrast;
    rows.push([
      "  acked events/s, log filling → full",
      `${int(lg.ackedPerSecBeforeFull)} → ${int(lg.ackedPerSecAfterFull)}`,
      skipped(c)
        ? ""
        : `${int(c.ackedPerSecBeforeFull)} → ${int(c.ackedPerSecAfterFull)} (${int(c.counters)} counters)`,
      fmt(lg.ackedPerSecAfterFull / lg.ackedPerSecBeforeFull, 2),
      "",
      "",
    ]);
  }
  const f = r.fill;
  const d = r.delta;
  if (skipped(d)) gap("checkpoint bytes / interval", d);
  else
    rows.push([
      `checkpoint bytes / interval, ${pct(d.changedShare)} changed`,
      mib(d.perInterval.allBytes),
      `full state ${mib(d.fullStateBytes)}`,
      pct(d.allShare),
      "≤ 5 %",
      met(d.met),
    ]);
  if (skipped(f)) gap("bulk fill", f);
  else {
    const mem = f.memory;
    rows.push([
      `RSS per entry, ${int(mem.entries)} entries`,
      `${fmt(mem.bytesPerEntry, 1)} B`,
      `empty node ${mib(mem.emptyRss)}`,
      "",
      "≤ 120 B",
      met(mem.met),
    ]);
  }
  const g = r.ingest;
  if (skipped(g)) gap("full-speed ingest", g);
  else {
    const l = g.leases;
    rows.push([
      "leases lost / lapse lines",
      `${l.lostSinceStart} / ${l.lapseLinesSinceStart}`,
      "",
      "",
      "0",
      met(g.met.leases),
    ]);
    rows.push([
      "event-loop delay p99 under ingest",
      `${fmt(g.eventLoopMs.p99, 1)} ms`,
      "",
      "",
      "≤ 50 ms",
      met(g.met.eventLoop),
    ]);
    rows.push(["read p99 under ingest", `${fmt(g.reads.p99, 1)} ms`, "", "", "≤ 50 ms", met(g.met.reads)]);
  }
  const s = r.restore;
  if (skipped(s)) gap("restore", s);
  else {
    rows.push(["restore, empty data dir", `${fmt(s.ms / 1000, 2)} s`, "", "", "≤ 5 s", met(s.met.time)]);
    rows.push([
      "restore peak RSS",
      mib(s.peakRss),
      `at rest ${mib(s.steadyRssBefore)}`,
      fmt(s.peakRatio, 2),
      "≤ 1.2",
      met(s.met.peak),
    ]);
  }
  if (!skipped(f)) {
    const lin = f.linear;
    rows.push([
      "checkpoint bytes / entry at N, 2N, 4N",
      lin.points.map((p) => fmt(p.bytesPerEntry, 1)).join(" / "),
      `N = ${int(lin.points[0]!.entries)}`,
      fmt(lin.perEntryRatio4NtoN, 2),
      "",
      "",
    ]);
    rows.push([
      "  per entry added, N→2N / 2N→4N",
      lin.doublings.map((d) => fmt(d.bytesPerAddedEntry, 1)).join(" / "),
      "",
      fmt(lin.doublingRatio, 2),
      "≤ 1.5 (N²: 2)",
      met(lin.met),
    ]);
  }
  const v = r.verify;
  if (skipped(v) || !("ratio" in v)) gap("verify recount events/s", v as Skipped);
  else
    rows.push([
      "verify recount events/s",
      int(v.recountPerSec),
      `${int(v.rawPerSec)} (raw)`,
      fmt(v.ratio, 2),
      "≥ 0.8",
      met(v.met),
    ]);
  printRows(rows);
}

/** Where the time and bytes went, for when a figure is off. */
export function printDetails(r: SoakReport, path: string): void {
  const lines: string[] = [];
  const m = r.months;
  if (!skipped(m)) {
    lines.push(
      `months: ${m.params.days} simulated days in ${fmt(m.realMs / 1000, 0)} s (×${int(m.rate)}), ${int(m.load.acked)} events acked (${m.load.errors} failed), ` +
        `${int(m.rssAfterWindow.entries.min)}–${int(m.rssAfterWindow.entries.max)} entries after the window; log ${mib(m.samples.at(-1)?.streamBytes)} at the end; ` +
        `checkpoints ${mib(m.checkpointBytesPerInterval)} per 5 s; event-loop p99 (1 s windows) max ${fmt(m.eventLoopWindowP99MaxMs, 1)} ms; ` +
        `exact ${m.exact.read} counters: ${yes(m.exact.exact)}; expiry ${JSON.stringify(m.expiry)}; lapse lines ${m.lapseLines}`,
    );
    lines.push(`  months load ${int(m.load.ackedPerSec)} events/s; ${cpuText(m.cpu)}`);
    if (Object.keys(m.warnings).length) lines.push(`  months node warnings: ${warningList(m.warnings)}`);
  }
  for (const lg of [r.log, r.logContrast])
    if (!skipped(lg))
      lines.push(
        `log, ${int(lg.counters)} counters: full after ${fmt((lg.fullAtMs ?? NaN) / 1000, 1)} s; ${lg.publishErrors} publishes failed ` +
          `(${lg.firstError ?? "none"}), ${lg.streamInfoTimeouts} stream-info timeouts; node lapse lines ${lg.nodeLapseLines}`,
      );
  const f = r.fill;
  if (!skipped(f)) {
    lines.push(
      `fill: ${int(f.shape.events)} events → ${int(f.entries)} entries (${f.shape.entriesPerCounter} per counter) in ${fmt(f.fillMs / 1000, 1)} s ` +
        `(${int(f.eventsPerSec)} events/s); heap per entry ${fmt(f.memory.heapBytesPerEntry, 1)} B; full state ` +
        (f.fullState ? `${mib(f.fullState.bytes)} from ${f.fullState.source}` : "unknown"),
    );
    lines.push(`  fill ${cpuText(f.cpu)}`);
  }
  const d = r.delta;
  if (!skipped(d))
    lines.push(
      `delta: per interval ${mib(d.perInterval.deltaBytes)} deltas + ${mib(d.perInterval.baseBytes)} bases + ${mib(d.perInterval.compactionBytes)} compactions ` +
        `(object store saw ${mib(d.perInterval.objectStoreBytes)}), ` +
        `${fmt(d.bytesPerChangedEntry, 1)} delta bytes per changed entry over ${fmt(d.intervals, 1)} intervals`,
    );
  const g = r.ingest;
  if (!skipped(g))
    lines.push(
      `ingest: ${int(g.events)} events in ${fmt(g.ms / 1000, 1)} s (${int(g.eventsPerSec)} events/s); event loop p50/p99/max ` +
        `${fmt(g.eventLoopMs.p50, 1)}/${fmt(g.eventLoopMs.p99, 1)}/${fmt(g.eventLoopMs.max, 1)} ms; reads ${g.reads.count} ` +
        `p50/p99/max ${fmt(g.reads.p50, 1)}/${fmt(g.reads.p99, 1)}/${fmt(g.reads.max, 1)} ms, ${g.reads.errors} errors`,
    );
  if (!skipped(g)) {
    lines.push(`  ingest ${cpuText(g.cpu)}`);
    if (Object.keys(g.nodeWarnings).length) lines.push(`  bulk node warnings: ${warningList(g.nodeWarnings)}`);
  }
  const s = r.restore;
  if (!skipped(s))
    lines.push(
      `restore: ready line after ${fmt(s.readyMs / 1000, 2)} s, sources ${JSON.stringify(s.sources)}, ${int(s.entries ?? NaN)} entries, ` +
        `RSS 3 s later ${mib(s.rssAfter3s)}; ${s.exact.read} counters exact: ${yes(s.exact.exact)}; ` +
        `node cpu ${fmt(s.cpu.nodeCpuSec, 1)} s, machine ${fmt((s.cpu.machineBusy ?? NaN) * 100, 0)} % busy`,
    );
  const v = r.verify;
  if (!skipped(v) && "rounds" in v)
    lines.push(
      `verify: ${int(v.events)} events; rounds recount ${v.rounds.recount.map(int).join(", ")}; raw ${v.rounds.raw.map(int).join(", ")}`,
    );
  console.log("\ndetails");
  for (const l of lines) console.log(`  ${l}`);
  console.log(`\nrun ${fmt(r.runMs / 1000, 0)} s; results: ${path}`);
}
