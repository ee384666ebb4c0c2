/**
 * The shared checkpoints seen from outside the node: the bytes of every chunk written to
 * the checkpoint object store (a plain NATS subscription sees each chunk's publish), and
 * the size of a full state, from the bases the chains are built on.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { CHECKPOINT_HEADS_BUCKET, CHECKPOINTS_BUCKET } from "@tally/node";

/** Counts the bytes of the chunks written to the checkpoint object store while subscribed. */
export class ObjectStoreWrites {
  bytes = 0;
  chunks = 0;
  readonly #sub: Subscription;

  constructor(nc: NatsConnection) {
    this.#sub = nc.subscribe(`$O.${CHECKPOINTS_BUCKET}.C.>`, {
      callback: (_err, m) => {
        this.bytes += m.data.length;
        this.chunks++;
      },
    });
  }

  stop(): void {
    this.#sub.unsubscribe();
  }
}

/** The full state's size: every shard's base, scaled to the entries held now. */
export interface FullStateSize {
  /** Where the figure comes from: the chains' manifests, or the whole-state objects (version 1). */
  source: "manifests" | "whole-state objects";
  shards: number;
  baseBytes: number;
  /** Entries in those bases (for whole-state objects: the entries held now). */
  baseEntries: number;
  /** Bytes per entry of a base times the entries held now: what one base of the state costs. */
  bytes: number;
}

/** A chain manifest as `tally_checkpoint_heads` holds it (the fields used here). */
interface ManifestLike {
  parts?: { kind?: string; bytes?: number; upserts?: number }[];
}

/**
 * What a base of the current state costs: from the manifests in the `tally_checkpoint_heads`
 * KV bucket (first part = the base: bytes and entries), else from the sizes of the
 * whole-state objects `shard-<n>` (checkpoints before chains). Undefined when neither is found.
 */
export async function fullStateSize(
  nc: NatsConnection,
  shardCount: number,
  entriesNow: number,
): Promise<FullStateSize | undefined> {
  const kvm = new Kvm(nc);
  const heads = await kvm.open(CHECKPOINT_HEADS_BUCKET).catch(() => undefined);
  const status = heads ? await heads.status().catch(() => undefined) : undefined;
  if (heads && status && status.values > 0) {
    let baseBytes = 0;
    let baseEntries = 0;
    let shards = 0;
    for (let s = 0; s < shardCount; s++) {
      const e = await heads.get(`shard-${s}`);
      if (!e || e.operation !== "PUT") continue;
      const base = (e.json<ManifestLike>().parts ?? [])[0];
      if (!base || typeof base.bytes !== "number" || typeof base.upserts !== "number") continue;
      baseBytes += base.bytes;
      baseEntries += base.upserts;
      shards++;
    }
    if (baseEntries > 0)
      return { source: "manifests", shards, baseBytes, baseEntries, bytes: (baseBytes / baseEntries) * entriesNow };
  }
  const os = await new Objm(nc).open(CHECKPOINTS_BUCKET).catch(() => undefined);
  if (!os) return undefined;
  let bytes = 0;
  let shards = 0;
  for (const o of await os.list()) {
    if (!/^shard-\d+$/.test(o.name) || o.deleted) continue;
    bytes += o.size;
    shards++;
  }
  if (shards === 0) return undefined;
  return { source: "whole-state objects", shards, baseBytes: bytes, baseEntries: entriesNow, bytes };
}
