/**
 * The two measurements of bench/namespace.ts: latency rounds (one request at a time, each kind
 * in a block of its own, or interleaved) and the nodes' CPU per request.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { timedRequest } from "./timed-request.js";
import { cpuDelta, cpuMark } from "../lib/cpu.js";
import { latencyStats, type LatencyStats } from "../lib/stats.js";
import { hrNow, msSince, sleep } from "../lib/time.js";
import { halted } from "../lib/cleanup.js";
import type { ReadKind } from "./requests.js";
import { CPU_READS, INTERLEAVE, PAUSE_MS, READS, ROUND_MAX_S, WARMUP } from "./options.js";

/**
 * A kind's latency in a round (retries and partial replies included), how many replies were
 * partial, how many requests had to be sent again and how many got no answer at all (their
 * latency is the wait until the bench gave up).
 */
export type RoundStats = LatencyStats & { partial: number; retried: number; failed: number };

/**
 * One round: {@link WARMUP} unmeasured then {@link READS} measured requests of each kind, one
 * at a time with {@link PAUSE_MS} after each; every reply is checked against the ground truth
 * (outside the timing). By default each kind runs in a block of its own, so a top 10 is not
 * measured right after a top 1000 whose work (a 64,000-item merge, its garbage) is still
 * going on; with `--interleave` the kinds take turns request by request, so noise from
 * elsewhere hits all kinds alike. Stops early after {@link ROUND_MAX_S} (the stats say how
 * many requests were measured).
 */
export async function latencyRound(nc: NatsConnection, kinds: ReadKind[]): Promise<Record<string, RoundStats>> {
  const ms: Record<string, number[]> = Object.fromEntries(kinds.map((k) => [k.id, []]));
  const partial: Record<string, number> = Object.fromEntries(kinds.map((k) => [k.id, 0]));
  const retried: Record<string, number> = Object.fromEntries(kinds.map((k) => [k.id, 0]));
  const failed: Record<string, number> = Object.fromEntries(kinds.map((k) => [k.id, 0]));
  const t0 = hrNow();
  const one = async (kind: ReadKind, i: number) => {
    const t = await timedRequest(nc, kind, i + WARMUP);
    await sleep(PAUSE_MS);
    if (i < 0) return;
    ms[kind.id]!.push(t.ms);
    if (t.partial) partial[kind.id]!++;
    if (t.retries > 0) retried[kind.id]!++;
    if (t.failed) failed[kind.id]!++;
  };
  if (INTERLEAVE) {
    const going = () => !halted() && msSince(t0) < ROUND_MAX_S * 1000;
    for (let i = -WARMUP; i < READS && going(); i++) for (const kind of kinds) await one(kind, i);
  } else {
    // Each kind's block gets its share of the round's time, so a slow kind cannot leave the next ones unmeasured.
    for (const kind of kinds) {
      const t1 = hrNow();
      const going = () => !halted() && msSince(t1) < (ROUND_MAX_S * 1000) / kinds.length;
      for (let i = -WARMUP; i < READS && going(); i++) await one(kind, i);
    }
  }
  return Object.fromEntries(
    kinds.map((k) => [
      k.id,
      { ...latencyStats(ms[k.id]!), partial: partial[k.id]!, retried: retried[k.id]!, failed: failed[k.id]! },
    ]),
  );
}

/**
 * Waits until every node has settled after a burst (its snapshot and checkpoint of what it
 * just counted): each node's CPU below `cores` over a whole second, within `timeoutMs`.
 * Resolves with the wait in ms, and whether they settled (a busy shared machine may keep one
 * above; the round then runs).
 */
export async function waitNodesQuiet(
  nodes: Record<string, number | undefined>,
  cores: number,
  timeoutMs: number,
): Promise<{ waitedMs: number; settled: boolean }> {
  const t = hrNow();
  while (msSince(t) < timeoutMs && !halted()) {
    const a = cpuMark(nodes);
    await sleep(1000);
    const d = cpuDelta(a, cpuMark(nodes));
    if (Object.keys(nodes).every((id) => (d.processes[id]?.cores ?? 0) < cores))
      return { waitedMs: msSince(t), settled: true };
  }
  return { waitedMs: msSince(t), settled: false };
}

/** CPU milliseconds per request of one kind, of the nodes and of nats-server. */
export interface CpuPerRequest {
  /** Summed over the nodes (the node that gathers and the shards' owners). */
  nodeMs: number | undefined;
  /** Each node's share, by id. */
  perNodeMs: Record<string, number | undefined>;
  natsServerMs: number | undefined;
  requests: number;
  /** Replies that were partial. */
  partial: number;
}

/**
 * {@link CPU_READS} requests of each kind back to back (one at a time), with the CPU each node
 * and nats-server used meanwhile, less what each uses idle in as long (measured first).
 */
export async function cpuPerRequest(
  nc: NatsConnection,
  kinds: ReadKind[],
  nodes: Record<string, number | undefined>,
  natsServer: number | undefined,
): Promise<{ idleNodeCores: Record<string, number | undefined>; perKind: Record<string, CpuPerRequest> }> {
  const pids = { ...nodes, natsServer };
  const ids = Object.keys(nodes);
  const a = cpuMark(pids);
  await sleep(3000);
  const idle = cpuDelta(a, cpuMark(pids));
  const idleCores = (k: string) => idle.processes[k]?.cores;
  const perKind: Record<string, CpuPerRequest> = {};
  for (const kind of kinds) {
    const before = cpuMark(pids);
    let partial = 0;
    for (let i = 0; i < CPU_READS && !halted(); i++) if ((await timedRequest(nc, kind, i)).partial) partial++;
    const d = cpuDelta(before, cpuMark(pids));
    const per = (k: string) => {
      const sec = d.processes[k]?.cpuSec;
      return sec === undefined ? undefined : ((sec - (idleCores(k) ?? 0) * d.wallSec) * 1000) / CPU_READS;
    };
    const perNodeMs = Object.fromEntries(ids.map((id) => [id, per(id)]));
    const known = Object.values(perNodeMs);
    perKind[kind.id] = {
      nodeMs: known.includes(undefined) ? undefined : known.reduce((x, y) => x! + y!, 0),
      perNodeMs,
      natsServerMs: per("natsServer"),
      requests: CPU_READS,
      partial,
    };
  }
  return { idleNodeCores: Object.fromEntries(ids.map((id) => [id, idleCores(id)])), perKind };
}
