/**
 * The two measurements of bench/namespace.ts: latency rounds (every kind interleaved, one
 * request at a time, so noise from elsewhere hits all kinds alike) and node CPU per request.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { cpuDelta, cpuMark } from "../lib/cpu.js";
import { latencyStats, type LatencyStats } from "../lib/stats.js";
import { hrNow, msSince, sleep } from "../lib/time.js";
import { halted } from "../lib/cleanup.js";
import type { ReadKind } from "./requests.js";
import { CPU_READS, READS, WARMUP } from "./options.js";

/** Sends request `i` of `kind`; throws when the reply is wrong. Resolves with its latency in ms. */
async function timed(nc: NatsConnection, kind: ReadKind, i: number): Promise<number> {
  const t = hrNow();
  const m = await nc.request(kind.subject(i), kind.body, { timeout: 10_000 });
  const ms = msSince(t);
  const why = kind.id === "echo" ? undefined : kind.check(m.json<Record<string, unknown>>(), i);
  if (why !== undefined) throw new Error(`${kind.label} (${kind.subject(i)}): ${why}`);
  return ms;
}

/**
 * One round: {@link WARMUP} unmeasured then {@link READS} measured requests of each kind, the
 * kinds taking turns; every reply is checked against the ground truth (outside the timing).
 */
export async function latencyRound(nc: NatsConnection, kinds: ReadKind[]): Promise<Record<string, LatencyStats>> {
  const ms: Record<string, number[]> = Object.fromEntries(kinds.map((k) => [k.id, []]));
  for (let i = -WARMUP; i < READS && !halted(); i++) {
    for (const kind of kinds) {
      const t = await timed(nc, kind, i + WARMUP);
      if (i >= 0) ms[kind.id]!.push(t);
    }
  }
  return Object.fromEntries(kinds.map((k) => [k.id, latencyStats(ms[k.id]!)]));
}

/** CPU milliseconds per request of one kind, of the node and of nats-server. */
export interface CpuPerRequest {
  nodeMs: number | undefined;
  natsServerMs: number | undefined;
  requests: number;
}

/**
 * {@link CPU_READS} requests of each kind back to back (one at a time), with the CPU the node
 * and nats-server used meanwhile, less what the idle node uses in as long (measured first).
 */
export async function cpuPerRequest(
  nc: NatsConnection,
  kinds: ReadKind[],
  pids: { node: number | undefined; natsServer: number | undefined },
): Promise<{ idleNodeCores: number | undefined; perKind: Record<string, CpuPerRequest> }> {
  const a = cpuMark(pids);
  await sleep(3000);
  const idle = cpuDelta(a, cpuMark(pids));
  const idleNode = idle.processes.node?.cores;
  const idleServer = idle.processes.natsServer?.cores;
  const perKind: Record<string, CpuPerRequest> = {};
  for (const kind of kinds) {
    const before = cpuMark(pids);
    for (let i = 0; i < CPU_READS && !halted(); i++) await timed(nc, kind, i);
    const d = cpuDelta(before, cpuMark(pids));
    const per = (sec: number | undefined, idleCores: number | undefined) =>
      sec === undefined ? undefined : ((sec - (idleCores ?? 0) * d.wallSec) * 1000) / CPU_READS;
    perKind[kind.id] = {
      nodeMs: per(d.processes.node?.cpuSec, idleNode),
      natsServerMs: per(d.processes.natsServer?.cpuSec, idleServer),
      requests: CPU_READS,
    };
  }
  return { idleNodeCores: idleNode, perKind };
}
