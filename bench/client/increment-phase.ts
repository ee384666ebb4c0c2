/**
 * Phase 1: N events published by a plain `await js.publish` loop (one at a time, the way
 * a naive client counts) against N `client.increment` calls started without awaiting each,
 * so the client's in-flight window (`maxInFlight`) pipelines them. Both acked, both timed
 * from the first publish to the last ack, in the same run; then every counter checked.
 */
import { cpuDelta, cpuMark, type CpuDelta } from "../lib/cpu.js";
import { expectedValue } from "../lib/keys.js";
import { publishAll } from "../lib/publish.js";
import { hrNow, log, msSince } from "../lib/time.js";
import { checkCounts, type CountsCheck } from "./exact.js";
import { keyNames, pids, TARGETS, type ClientRun } from "./options.js";

const EMPTY = new Uint8Array(0);
/** The client's in-flight window (`maxInFlight`, the default), for the raw pipelined side. */
export const CLIENT_WINDOW = 256;
/** `increment` calls started per `Promise.all`: the window bounds what is in flight. */
const CHUNK = 10_000;

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

type Side = "plain" | "increment" | "pipelined";

/** One round of phase 1. */
export interface IncrementRound {
  round: number;
  /** Which side ran first (rounds alternate, so load from elsewhere hits both alike). */
  order: Side[];
  plain: PublishSide;
  increment: PublishSide;
  /**
   * Informative: the same N as `js.publish` calls (no message id) with as many in flight as
   * the client's window, without the client: what pipelining alone gives.
   */
  pipelined: PublishSide;
  ratio: number;
  met: boolean;
}

/** N `await js.publish(count.<ns>.k<i % K>)` calls, one after the other, no message id. */
async function plainLoop(run: ClientRun, ns: string, names: string[], n: number) {
  const subjects = names.map((k) => `count.${ns}.${k}`);
  let lastSeq = 0;
  const t0 = hrNow();
  for (let i = 0; i < n; i++) {
    const ack = await run.js.publish(subjects[i % subjects.length]!, EMPTY);
    lastSeq = ack.seq;
  }
  return { ms: msSince(t0), lastSeq };
}

/** N `client.increment(ns, k<i % K>)` calls, started in chunks of {@link CHUNK}. */
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

/** N `js.publish` calls (no message id) with {@link CLIENT_WINDOW} in flight, round-robin. */
async function rawPipelined(run: ClientRun, ns: string, names: string[], n: number) {
  const subjects = names.map((k) => `count.${ns}.${k}`);
  const r = await publishAll(run.js, subjects, n, CLIENT_WINDOW);
  return { ms: msSince(r.startedAt, r.doneAt), lastSeq: r.lastSeq };
}

async function side(run: ClientRun, which: Side, round: number): Promise<PublishSide> {
  const { events: n, incrementKeys } = run.params;
  const ns = `${which}${round}`;
  const names = keyNames(incrementKeys);
  log(`phase 1 round ${round}: ${which}, ${n} events over ${incrementKeys} counters of ${ns}`);
  const before = cpuMark(pids(run));
  const measure = { plain: plainLoop, increment: incrementPipelined, pipelined: rawPipelined }[which];
  const { ms, lastSeq } = await measure(run, ns, names, n);
  const cpu = cpuDelta(before, cpuMark(pids(run)));
  const expected = names.map((_, k) => expectedValue(k, n, names.length));
  const exact = await checkCounts(run.nc, ns, names, expected, lastSeq);
  return { ns, events: n, ms, eventsPerSec: (n / ms) * 1000, lastSeq, cpu, exact };
}

/** One round: every side, the plain loop first in even rounds and last in odd ones. */
export async function measureIncrement(run: ClientRun, round: number): Promise<IncrementRound> {
  const order: Side[] = round % 2 === 0 ? ["plain", "increment", "pipelined"] : ["pipelined", "increment", "plain"];
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
    ratio,
    met: ratio >= TARGETS.incrementRatio && plain.exact.exact && increment.exact.exact,
  };
}
