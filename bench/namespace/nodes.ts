/**
 * The `tally node` processes of bench/namespace.ts ({@link NODES} of them, one nats-server), and
 * what the bench reads off each: event-loop delay, resident memory, warnings.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { waitBalanced } from "../lib/balanced.js";
import type { Child } from "../lib/child.js";
import { cleanTempDir } from "../lib/cleanup.js";
import { spawnNode } from "../lib/node-process.js";
import { log, nowMs } from "../lib/time.js";
import { procRss, type Rss } from "../soak/node-probe.js";
import { scrapeLoopDelay, type LoopDelay } from "./event-loop.js";
import { NODES, SHARDS } from "./options.js";

/** One node process, `--id n<k>`. */
export interface BenchNode {
  id: string;
  child: Child;
  /** Its `/metrics` port. */
  httpPort: number;
}

/** Ids `n1` … `n<N>`: the order of every per-node figure of the results. */
export const nodeIds = (): string[] => Array.from({ length: NODES }, (_, i) => `n${i + 1}`);

/**
 * Spawns {@link NODES} nodes (`--min-members N`, so they split the shards from the start, each
 * on its own temp data dir, removed at cleanup), then polls `tally status` until all 64 shards
 * are spread evenly over them and applied (within 120 s). Resolves with the nodes and the wait.
 */
export async function startNodes(nc: NatsConnection, url: string): Promise<{ nodes: BenchNode[]; readyMs: number }> {
  const t0 = nowMs();
  const nodes = await Promise.all(
    nodeIds().map(async (id) => {
      const dir = await cleanTempDir(`tally-bench-ns-${id}-`);
      const args = ["--log-level", "info", "--min-members", String(NODES)];
      const n = await spawnNode(url, dir.path, { name: `node ${id}`, id, args });
      return { id, child: n.child, httpPort: n.httpPort };
    }),
  );
  await waitBalanced(nc, nodeIds(), SHARDS, 120_000);
  const readyMs = nowMs() - t0;
  log(`${NODES} node(s) serving all ${SHARDS} shards after ${(readyMs / 1000).toFixed(1)} s`);
  return { nodes, readyMs };
}

/** Each node's event-loop delay since the previous scrape (a new window starts), by id. */
export async function loopDelays(nodes: BenchNode[]): Promise<Record<string, LoopDelay>> {
  const delays = await Promise.all(nodes.map((n) => scrapeLoopDelay(n.httpPort)));
  return Object.fromEntries(nodes.map((n, i) => [n.id, delays[i]!]));
}

/** Each node's resident memory now and at its peak (bytes), by id; absent once a node is gone. */
export const rssOf = (nodes: BenchNode[]): Record<string, Rss | undefined> =>
  Object.fromEntries(nodes.map((n) => [n.id, procRss(n.child.pid)]));

/** Each node's warnings so far, counted by message, by id (a copy). */
export const warningsOf = (nodes: BenchNode[]): Record<string, Record<string, number>> =>
  Object.fromEntries(nodes.map((n) => [n.id, { ...n.child.warnings }]));

/** The nodes' pids by id, for CPU figures. */
export const pidsOf = (nodes: BenchNode[]): Record<string, number | undefined> =>
  Object.fromEntries(nodes.map((n) => [n.id, n.child.pid]));

/** The worst of the nodes' event-loop delays (p99 and max), for a one-line summary. */
export function worstDelay(delays: Record<string, LoopDelay>): LoopDelay {
  const worst = (k: keyof LoopDelay) => {
    const v = Object.values(delays).flatMap((d) => (d[k] === undefined ? [] : [d[k]]));
    return v.length === 0 ? undefined : Math.max(...v);
  };
  return { p50: worst("p50"), p99: worst("p99"), max: worst("max") };
}
