import type { NatsConnection } from "@nats-io/transport-node";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { openKv } from "../nats/buckets.js";
import { CHECKPOINT_HEADS_BUCKET, shardKey } from "../names.js";
import { encodeManifest, parseManifest, stale, type Head, type Manifest } from "./checkpoint-manifest.js";

/**
 * The manifests in the {@link CHECKPOINT_HEADS_BUCKET} KV bucket, one per shard
 * (`shard-<n>`), changed only by compare-and-set on the entry's revision, so two
 * writers can never both move a chain from the same state.
 */
export class CheckpointHeads {
  readonly #kv: KV;

  private constructor(kv: KV) {
    this.#kv = kv;
  }

  static async open(nc: NatsConnection): Promise<CheckpointHeads> {
    return new CheckpointHeads(await openKv(nc, CHECKPOINT_HEADS_BUCKET));
  }

  /** The shard's manifest and its revision; undefined if there is none. An unreadable one comes with `problem`. */
  async get(shard: number): Promise<Head | undefined> {
    const e = await this.#kv.get(shardKey(shard));
    if (!e || e.operation !== "PUT") return undefined;
    try {
      return { revision: e.revision, manifest: parseManifest(shard, e.value) };
    } catch (err) {
      return { revision: e.revision, problem: err instanceof Error ? err.message : String(err) };
    }
  }

  /**
   * Stores `m` if the shard's manifest is still at `revision` (none at all when
   * undefined); returns the new revision. `CHECKPOINT_STALE` if it moved.
   */
  async put(m: Manifest, revision: number | undefined): Promise<{ revision: number; bytes: number }> {
    const body = encodeManifest(m);
    try {
      const rev =
        revision === undefined
          ? await this.#kv.create(shardKey(m.shard), body)
          : await this.#kv.update(shardKey(m.shard), body, revision);
      return { revision: rev, bytes: body.length };
    } catch (err) {
      if (isWrongLastSequence(err)) throw stale(m.shard, "the manifest moved during the write");
      throw err;
    }
  }
}

/** Whether a compare-and-set failed because the subject moved (and nothing was stored). */
export function isWrongLastSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}
