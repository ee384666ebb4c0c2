/**
 * Phase 1: N events published by a plain `await js.publish` loop (one at a time, the way
 * a naive client counts) against N `client.increment` calls started without awaiting each,
 * so the client's in-flight window (`maxInFlight`) pipelines them; and, informative, two
 * baselines without the client (./baselines.ts). All acked, all in the same run: the N
 * events of each side go out in `--blocks` blocks, the sides taking turns block by block,
 * so a change of load from elsewhere hits every side alike. Each side's time is the sum of
 * its blocks (first publish → last ack). Then every counter is checked.
 */
import { cpuDelta, cpuMark, type CpuDelta } from "../lib/cpu.js";
import { expectedValue } from "../lib/keys.js";
import { hrNow, log, msSince } from "../lib/time.js";
import { barePipelined, jsPublishPipelined } from "./baselines.js";
import { checkCounts, type CountsCheck } from "./exact.js";
import { keyNames, pids, TARGETS, type ClientRun } from "./options.js";

const EMPTY = new Uint8Array(0);
/**
 * `increment` calls started per `Promise.all`; the client's window bounds what is in flight.
 * Thousands more than the window only wait for a slot, and cost CPU doing so: chunks of
 * 10,000 took ~40 µs of this process's CPU per event where chunks of 500–2,000 took ~27.
 */
const CHUNK = 1000;

/** One side of phase 1. */
export interface PublishSide {
  ns: string;
  events: number;
  ms: number;
  eventsPerSec: number;
  lastSeq: number;
  /** CPU of its blocks, summed. */
  cpu: CpuDelta;
  exact: CountsCheck;
}

type Side = "plain" | "increment" | "pipelined" | "bare";
const SIDES: Side[] = ["plain", "increment", "pipelined", "bare"];

/** One round of phase 1. */
export interface IncrementRound {
  round: number;
  /** The order the sides take turns in each block (reversed every other round). */
  order: Side[];
  blocks: number;
  plain: PublishSide;
  increment: PublishSide;
  /** Informative, see ./baselines.ts: `js.publish` with the client's window, no client. */
  pipelined: PublishSide;
  /** Informative: `nc.publish` with reply subjects, acks counted by one subscription. */
  bare: PublishSide;
  ratio: number;
  met: boolean;
}

/** Publishes events `from … to-1` of a side (event i counts `names[i % K]`); resolves with the last seq. */
type Block = (from: number, to: number) => Promise<number>;

/** `subjects` rotated to start at event `from`'s counter, for publishers that count from 0. */
const rotated = (subjects: string[], from: number): string[] => {
  const r = from % subjects.length;
  return [...subjects.slice(r), ...subjects.slice(0, r)];
};

/** The block publisher of each side, over counters `names` of `ns`. */
function blockOf(run: ClientRun, which: Side, ns: string, names: string[]): Block {
  const subjects = names.map((k) => `count.${ns}.${k}`);
  switch (which) {
    case "plain":
      // One `await js.publish` after the other, no message id.
      return async (from, to) => {
        let lastSeq = 0;
        for (let i = from; i < to; i++) lastSeq = (await run.js.publish(subjects[i % subjects.length]!, EMPTY)).seq;
        return lastSeq;
      };
    case "increment":
      // `client.increment` started CHUNK at a time.
      return async (from, to) => {
        let lastSeq = 0;
        for (let start = from; start < to; start += CHUNK) {
          const end = Math.min(to, start + CHUNK);
          const seqs = await Promise.all(
            Array.from({ length: end - start }, (_, j) => run.client.increment(ns, names[(start + j) % names.length]!)),
          );
          for (const s of seqs) if (s > lastSeq) lastSeq = s;
        }
        return lastSeq;
      };
    case "pipelined":
      return async (from, to) => (await jsPublishPipelined(run, rotated(subjects, from), to - from)).lastSeq;
    case "bare":
      return async (from, to) => (await barePipelined(run, rotated(subjects, from), to - from)).lastSeq;
  }
}

/** CPU deltas of several blocks as one: seconds summed, utilisation over the summed wall time. */
function sumCpu(ds: CpuDelta[]): CpuDelta {
  const wallSec = ds.reduce((a, d) => a + d.wallSec, 0);
  const processes: CpuDelta["processes"] = {};
  for (const k of new Set(ds.flatMap((d) => Object.keys(d.processes)))) {
    const parts = ds.map((d) => d.processes[k]);
    if (parts.some((p) => p === undefined)) continue;
    const cpuSec = parts.reduce((a, p) => a + p!.cpuSec, 0);
    processes[k] = { cpuSec, cores: cpuSec / wallSec };
  }
  const busy = ds.map((d) => d.machineBusy);
  const machineBusy = busy.some((b) => b === undefined)
    ? undefined
    : ds.reduce((a, d) => a + d.machineBusy! * d.wallSec, 0) / wallSec;
  return { wallSec, processes, machineBusy };
}

/** One round: N events per side in `blocks` blocks, the sides taking turns. */
export async function measureIncrement(run: ClientRun, round: number): Promise<IncrementRound> {
  const { events: n, incrementKeys, blocks } = run.params;
  const names = keyNames(incrementKeys);
  const order = round % 2 === 0 ? SIDES : [...SIDES].reverse();
  log(`phase 1 round ${round}: ${n} events per side over ${incrementKeys} counters, ${blocks} blocks, ${order}`);
  const state = Object.fromEntries(
    SIDES.map((s) => [s, { ns: `${s}${round}`, ms: 0, lastSeq: 0, cpu: [] as CpuDelta[] }]),
  ) as Record<Side, { ns: string; ms: number; lastSeq: number; cpu: CpuDelta[] }>;
  const publishers = Object.fromEntries(SIDES.map((s) => [s, blockOf(run, s, state[s].ns, names)])) as Record<
    Side,
    Block
  >;
  for (let b = 0; b < blocks; b++) {
    const from = Math.floor((b * n) / blocks);
    const to = Math.floor(((b + 1) * n) / blocks);
    for (const which of order) {
      const st = state[which];
      const before = cpuMark(pids(run));
      const t0 = hrNow();
      st.lastSeq = Math.max(st.lastSeq, await publishers[which](from, to));
      st.ms += msSince(t0);
      st.cpu.push(cpuDelta(before, cpuMark(pids(run))));
    }
  }
  const expected = names.map((_, k) => expectedValue(k, n, names.length));
  const sides = {} as Record<Side, PublishSide>;
  for (const which of SIDES) {
    const st = state[which];
    const exact = await checkCounts(run.nc, st.ns, names, expected, st.lastSeq);
    const eventsPerSec = (n / st.ms) * 1000;
    sides[which] = { ns: st.ns, events: n, ms: st.ms, eventsPerSec, lastSeq: st.lastSeq, cpu: sumCpu(st.cpu), exact };
  }
  const ratio = sides.increment.eventsPerSec / sides.plain.eventsPerSec;
  return {
    round,
    order,
    blocks,
    ...sides,
    ratio,
    met: ratio >= TARGETS.incrementRatio && sides.plain.exact.exact && sides.increment.exact.exact,
  };
}
