/** What the cluster reports: shard owners, and the shared checkpoints written. */
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamManager } from "@nats-io/jetstream";
import { CHECKPOINTS_BUCKET, clusterStatus, type ClusterStatus } from "@tally/node";
import { waitFor } from "@tally/testing";
import { SHARDS } from "./options.js";

/** Polls until every shard is owned by one of `members`, ⌊P/N⌋ or ⌈P/N⌉ each, and reported as applied. */
export async function waitBalanced(nc: NatsConnection, members: string[], timeoutMs = 90_000): Promise<ClusterStatus> {
  let last: ClusterStatus | undefined;
  await waitFor(
    async () => {
      const st = await clusterStatus(nc);
      last = st;
      const lo = Math.floor(SHARDS / members.length);
      const counts = members.map((m) => st.shards.filter((s) => s.owner === m).length);
      return (
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

/** True when every shard in `shards` has a shared checkpoint written after object-store sequence `after`. */
export async function checkpointedSince(jsm: JetStreamManager, shards: number[], after: number): Promise<boolean> {
  const seqs = await Promise.all(
    shards.map(async (s) => {
      // The object store's metadata subject: the name in padded base64url (nats.js obj).
      const name = Buffer.from(`shard-${s}`).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
      const m = await jsm.streams
        .getMessage(`OBJ_${CHECKPOINTS_BUCKET}`, { last_by_subj: `$O.${CHECKPOINTS_BUCKET}.M.${name}` })
        .catch(() => null);
      return m?.seq ?? 0;
    }),
  );
  return seqs.every((q) => q > after);
}

/** The owner of each shard, `-` for none. */
export const ownersOf = (st: ClusterStatus) => st.shards.map((s) => s.owner ?? "-");
