/** The summary, printed table and `details` block of bench/client.ts. */
import { fmt, int, printRows, warningList, yes } from "../lib/table.js";
import type { BatcherRound } from "./batcher-phase.js";
import type { IncrementRound } from "./increment-phase.js";
import { TARGETS } from "./options.js";

/** Lowest, median and highest of some figures. */
function spread(v: number[]) {
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s[s.length - 1]! };
}

/** Each target's figures over the rounds; a target is met when every round meets it (a phase left out with `--only` is not met). */
export function summarize(increment: IncrementRound[], batcher: BatcherRound[]) {
  const incrementRatio = {
    target: `pipelined increment ≥ ${TARGETS.incrementRatio} × plain await js.publish loop`,
    ...spread(increment.map((r) => r.ratio)),
    met: increment.length > 0 && increment.every((r) => r.met),
  };
  const batcherAddsPerSec = {
    target: `batcher ≥ ${int(TARGETS.batcherAddsPerSec)} adds/s into the counters, exact`,
    ...spread(batcher.map((r) => r.addsPerSec)),
    met: batcher.length > 0 && batcher.every((r) => r.met),
  };
  const exact = [...increment.flatMap((r) => [r.plain, r.increment]), ...batcher].every((s) => s.exact.exact);
  return { summary: { incrementRatio, batcherAddsPerSec, exact }, met: incrementRatio.met && batcherAddsPerSec.met };
}

/** The parts of the results the report shows. */
export interface ClientReport extends ReturnType<typeof summarize> {
  increment: IncrementRound[];
  batcher: BatcherRound[];
  env: { loadavgAtStart: number[] };
  loadavgAtEnd: number[];
  nodeWarnings: Record<string, number>;
  runMs: number;
}

const perRound = <T>(rounds: T[], f: (r: T) => string): string => rounds.map(f).join(" / ");

/** The headline table: one column of figures per round, each against its target. */
export function printTable(r: ClientReport): void {
  const { increment: inc, batcher: bat, summary: s } = r;
  printRows([
    ["metric (round 1 / round 2 / …)", "figures", "target", "met"],
    ["plain `await js.publish` loop, events/s", perRound(inc, (x) => int(x.plain.eventsPerSec)), "", ""],
    ["pipelined `client.increment`, events/s", perRound(inc, (x) => int(x.increment.eventsPerSec)), "", ""],
    ["  ratio", perRound(inc, (x) => fmt(x.ratio, 2)), `≥ ${TARGETS.incrementRatio}`, yes(s.incrementRatio.met)],
    [
      `batcher adds/s (${int(bat[0]?.keys ?? 0)} counters)`,
      perRound(bat, (x) => int(x.addsPerSec)),
      `≥ ${int(TARGETS.batcherAddsPerSec)}`,
      yes(s.batcherAddsPerSec.met),
    ],
    ["  adds per published key", perRound(bat, (x) => fmt(x.aggregation, 1)), "", ""],
    ["exact (every counter, list, top)", String(s.exact), "true", yes(s.exact)],
  ]);
}

/** Where the time goes: CPU of each process, the batcher's loop vs its close, the load. */
export function printDetails(r: ClientReport, resultsPath: string): void {
  const cores = (c: { processes: Record<string, { cores: number } | undefined>; machineBusy?: number }) =>
    `bench ${fmt(c.processes.bench?.cores, 2)}, nats-server ${fmt(c.processes.natsServer?.cores, 2)}, ` +
    `node ${fmt(c.processes.node?.cores, 2)} cores; machine ${fmt((c.machineBusy ?? NaN) * 100)} % busy`;
  console.log("\ndetails");
  for (const x of r.increment) {
    console.log(`  round ${x.round + 1}, phase 1 (${x.blocks} blocks, each: ${x.order.join(", ")}):`);
    for (const side of [x.plain, x.increment, x.pipelined, x.bare]) {
      console.log(
        `    ${side.ns}: ${int(side.events)} events in ${int(side.ms)} ms (${int(side.eventsPerSec)}/s), ` +
          `bench CPU ${fmt(((side.cpu.processes.bench?.cpuSec ?? NaN) * 1e6) / side.events, 1)} µs/event; ${cores(side.cpu)}`,
      );
    }
  }
  for (const x of r.batcher) {
    const us = (c: { processes: Record<string, { cpuSec: number } | undefined> }, n: number) =>
      fmt(((c.processes.bench?.cpuSec ?? NaN) * 1e6) / n, 2);
    console.log(
      `  round ${x.round + 1}, phase 2: ${int(x.adds)} adds, loop ${int(x.addLoopMs)} ms, close ${int(x.ms - x.addLoopMs)} ms; ` +
        `${int(x.stats.published)} keys published, ${x.stats.retries} retries, ${int(x.waits)} adds waited; ${cores(x.cpu)}`,
    );
    console.log(
      `    bench CPU: loop ${us(x.loop.cpu, x.adds)} µs/add (${int(x.loop.published)} keys acked meanwhile), ` +
        `close ${us(x.close.cpu, x.close.published)} µs per key published (${int(x.close.published)} keys)`,
    );
  }
  const la = (l: number[]) => l.map((v) => v.toFixed(1)).join(" ");
  console.log(`  load average: ${la(r.env.loadavgAtStart)} at start, ${la(r.loadavgAtEnd)} at end`);
  const w = warningList(r.nodeWarnings);
  if (w) console.log(`  node warnings: ${w}`);
  console.log(`  run ${fmt(r.runMs / 1000, 0)} s; every number in ${resultsPath}`);
}
