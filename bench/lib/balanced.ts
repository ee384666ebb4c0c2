/** Waiting for a cluster of node processes to have spread the shards and to serve them. */
import type { NatsConnection } from "@nats-io/transport-node";
import { clusterStatus, type ClusterStatus } from "@tally/node";
import { waitFor } from "@tally/testing";

/**
 * Polls `tally status` until every one of the `shards` shards is owned by one of `members`,
 * ⌊P/N⌋ or ⌈P/N⌉ each, and reported as applied (serving); rejects after `timeoutMs` with the
 * owners last seen.
 */
export async function waitBalanced(
  nc: NatsConnection,
  members: string[],
  shards: number,
  timeoutMs = 90_000,
): Promise<ClusterStatus> {
  let last: ClusterStatus | undefined;
  await waitFor(
    async () => {
      const st = await clusterStatus(nc);
      last = st;
      const lo = Math.floor(shards / members.length);
      const counts = members.map((m) => st.shards.filter((s) => s.owner === m).length);
      return (
        st.shards.length === shards &&
        st.shards.every((s) => s.owner !== undefined && members.includes(s.owner) && s.appliedSeq !== undefined) &&
        counts.every((c) => c === lo || c === lo + 1)
      );
    },
    { timeoutMs, intervalMs: 200, message: `shards balanced over ${members.join(",")}` },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; owners last seen: ${JSON.stringify(last?.shards.map((s) => s.owner))}`);
  });
  return last!;
}
