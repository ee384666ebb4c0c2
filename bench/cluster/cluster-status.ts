/** What the cluster reports: shard owners, and the shared checkpoints written. */
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamManager } from "@nats-io/jetstream";
import { CHECKPOINTS_BUCKET, type ClusterStatus } from "@tally/node";
import { waitBalanced as waitBalancedShards } from "../lib/balanced.js";
import { SHARDS } from "./options.js";

/** Polls until every shard is owned by one of `members`, ⌊P/N⌋ or ⌈P/N⌉ each, and reported as applied. */
export const waitBalanced = (nc: NatsConnection, members: string[], timeoutMs = 90_000): Promise<ClusterStatus> =>
  waitBalancedShards(nc, members, SHARDS, timeoutMs);

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
