/**
 * Phase 1: N events published by a plain `await js.publish` loop (one at a time, the way
 * a naive client counts) against N `client.increment` calls started without awaiting each,
 * so the client's in-flight window (`maxInFlight`) pipelines them. Both acked, both timed
 * from the first publish to the last ack, in the same run; then every counter checked.
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
  cpu: CpuDelta;
  exact: CountsCheck;
}

type Side = "plain" | "increment" | "pipelined" | "bare";

/** One round of phase 1. */
export interface IncrementRound {
  round: number;
  /** Which side ran first (rounds alternate, so load from elsewhere hits both alike). */
  order: Side[];
  plain: PublishSide;
  increment: PublishSide;
  /** Informative, see ./baselines.ts: `js.publish` with the client's window, no client. */
  pipelined: PublishSide;
  /** Informative: `nc.publish` with reply subjects, acks counted by one subscription. */
  bare: PublishSide;
  ratio: number;
  met: boolean;
}

/** N `await js.publish(subjects[i % K])` calls, one after the other, no message id. */
async function plainLoop(run: ClientRun, subjects: string[], n: number) {
  let lastSeq = 0;
  const t0 = hrNow();
  for (let i = 0; i < n; i++) {
    const ack = await run.js.publish(subjects[i % subjects.length]!, EMPTY);
    lastSeq = ack.seq;
  }
  return { ms: msSince(t0), lastSeq };
}

/** N `client.increment(ns, names[i % K])` calls, started in chunks of {@link CHUNK}. */
async function incrementPipelined(run: ClientRun, ns: string, names: string[], n: number) {
  let lastSeq = 0;
  const t0 = hrNow();
  for (let start = 0; start < n; start += CHUNK) {
    const end = Math.min(n, start + CHUNK);
    const seqs = await Promise.all(
      Array.from({ length: end - start }, (_, j) => run.client.increment(ns, names[(start + j) % names.length]!)),
    );
    for (const s of seqs) if (s > lastSeq) lastSeq = s;
  }
  return { ms: msSince(t0), lastSeq };
}

async function side(run: ClientRun, which: Side, round: number): Promise<PublishSide> {
  const { events: n, incrementKeys } = run.params;
  const ns = `${which}${round}`;
  const names = keyNames(incrementKeys);
  log(`phase 1 round ${round}: ${which}, ${n} events over ${incrementKeys} counters of ${ns}`);
  const before = cpuMark(pids(run));
  const subjects = names.map((k) => `count.${ns}.${k}`);
  const { ms, lastSeq } =
    which === "plain"
      ? await plainLoop(run, subjects, n)
      : which === "increment"
        ? await incrementPipelined(run, ns, names, n)
        : which === "pipelined"
          ? await jsPublishPipelined(run, subjects, n)
          : await barePipelined(run, subjects, n);
  const cpu = cpuDelta(before, cpuMark(pids(run)));
  const expected = names.map((_, k) => expectedValue(k, n, names.length));
  const exact = await checkCounts(run.nc, ns, names, expected, lastSeq);
  return { ns, events: n, ms, eventsPerSec: (n / ms) * 1000, lastSeq, cpu, exact };
}

/** One round: every side, the plain loop first in even rounds and last in odd ones. */
export async function measureIncrement(run: ClientRun, round: number): Promise<IncrementRound> {
  const everySide: Side[] = ["plain", "increment", "pipelined", "bare"];
  const order = round % 2 === 0 ? everySide : [...everySide].reverse();
  const sides: Partial<Record<Side, PublishSide>> = {};
  for (const which of order) sides[which] = await side(run, which, round);
  const plain = sides.plain!;
  const increment = sides.increment!;
  const ratio = increment.eventsPerSec / plain.eventsPerSec;
  return {
    round,
    order,
    plain,
    increment,
    pipelined: sides.pipelined!,
    bare: sides.bare!,
    ratio,
    met: ratio >= TARGETS.incrementRatio && plain.exact.exact && increment.exact.exact,
  };
}
