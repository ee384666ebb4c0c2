/** The node processes of the cluster phase. */
import type { Child } from "../lib/child.js";
import { spawnNode } from "../lib/node-process.js";
import { nowMs } from "../lib/time.js";

/** A node process named `node <id>`; instants are {@link nowMs}. */
export interface ClusterNode {
  child: Child;
  spawnedAt: number;
  readyAt: number;
  httpPort: number;
}

/** `tally node --id <id>` through the real CLI, default cluster settings; resolves at its `node ready` line. */
export async function spawnClusterNode(url: string, dataDir: string, id: string): Promise<ClusterNode> {
  const spawnedAt = nowMs();
  const { child, ready, httpPort } = await spawnNode(url, dataDir, { name: `node ${id}`, id });
  return { child, spawnedAt, readyAt: ready.at, httpPort };
}
