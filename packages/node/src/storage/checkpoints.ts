import { createHash } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ObjectStore } from "@nats-io/obj";
import { pack, unpack } from "msgpackr";
import type { Logger } from "pino";
import { openObjectStore } from "../nats/buckets.js";
import { CHECKPOINTS_BUCKET, shardKey } from "../names.js";
import type { CountEntry } from "@tally/core";
import { nextStreamMessage } from "../nats/stream-lookup.js";

/** A shard's state as checkpointed: every count, and the stream sequence they reflect. */
export interface Checkpoint {
  shard: number;
  /** Every event of the shard with stream sequence ≤ seq is reflected in `entries`. */
  seq: number;
  /** Lease epoch of the writer. */
  epoch: number;
  /** Node that wrote it. */
  node: string;
  entries: CountEntry[];
}

/** Stored form: counts flattened to [ns, name, key, value, …] for a compact msgpack body. */
interface Stored {
  v: 1;
  shard: number;
  seq: number;
  epoch: number;
  node: string;
  at: number;
  e: (string | number)[];
}

/**
 * Shared checkpoints in the {@link CHECKPOINTS_BUCKET} object store (replicated like
 * the stream), one object per shard. An object store writes all chunks of a new
 * version before its metadata record, and readers follow the metadata, so a writer
 * that dies mid-write leaves the previous checkpoint whole; a body that fails its
 * digest or does not decode is reported and skipped, never half-loaded.
 */
export class Checkpoints {
  readonly #nc: NatsConnection;
  readonly #os: ObjectStore;
  readonly #log: Logger;

  private constructor(nc: NatsConnection, os: ObjectStore, log: Logger) {
    this.#nc = nc;
    this.#os = os;
    this.#log = log;
  }

  static async open(nc: NatsConnection, log: Logger): Promise<Checkpoints> {
    const os = await openObjectStore(nc, CHECKPOINTS_BUCKET);
    return new Checkpoints(nc, os, log);
  }

  /** Writes a shard's checkpoint; the previous one stays readable until this one is complete. */
  async write(cp: Checkpoint): Promise<void> {
    const flat: (string | number)[] = new Array<string | number>(cp.entries.length * 4);
    let i = 0;
    for (const e of cp.entries) {
      flat[i++] = e.ns;
      flat[i++] = e.name;
      flat[i++] = e.key;
      flat[i++] = e.value;
    }
    const body: Stored = {
      v: 1,
      shard: cp.shard,
      seq: cp.seq,
      epoch: cp.epoch,
      node: cp.node,
      at: Date.now(),
      e: flat,
    };
    await this.#os.putBlob({ name: shardKey(cp.shard) }, pack(body) as Uint8Array);
  }

  /**
   * The shard's last complete checkpoint; undefined if there is none or it cannot
   * be read. Chunks are fetched one by one with direct gets (each with a deadline)
   * rather than with the object store's push consumer, which waits forever when a
   * concurrent write replaces the object and purges the chunks being read; here a
   * vanished chunk just means "read the newer version".
   */
  async read(shard: number): Promise<Checkpoint | undefined> {
    let data: Uint8Array | null = null;
    for (let attempt = 0; attempt < 5 && data === null; attempt++) {
      const info = await this.#os.info(shardKey(shard));
      if (info === null || info.deleted) return undefined;
      const chunks: Uint8Array[] = [];
      let seq = 0;
      while (chunks.length < info.chunks) {
        const m = await nextStreamMessage(
          this.#nc,
          `OBJ_${CHECKPOINTS_BUCKET}`,
          `$O.${CHECKPOINTS_BUCKET}.C.${info.nuid}`,
          seq + 1,
        );
        if (!m) break; // replaced meanwhile
        chunks.push(m.data);
        seq = m.seq;
      }
      if (chunks.length < info.chunks) continue;
      const body = Buffer.concat(chunks);
      const digest = createHash("sha256").update(body).digest("base64url");
      if (info.digest.replace(/=+$/, "") !== `SHA-256=${digest}`) {
        this.#log.error({ shard, expected: info.digest }, "shared checkpoint fails its digest; not used");
        return undefined;
      }
      data = new Uint8Array(body);
    }
    if (data === null) {
      this.#log.error({ shard }, "shared checkpoint kept changing while being read; not used");
      return undefined;
    }
    try {
      const s = unpack(data) as Stored;
      if (s.v !== 1 || s.shard !== shard || !Number.isSafeInteger(s.seq) || !Array.isArray(s.e) || s.e.length % 4 !== 0)
        throw new Error("unexpected checkpoint layout");
      const entries: CountEntry[] = [];
      for (let i = 0; i < s.e.length; i += 4) {
        entries.push({
          ns: s.e[i] as string,
          name: s.e[i + 1] as string,
          key: s.e[i + 2] as number,
          value: s.e[i + 3] as number,
        });
      }
      return { shard, seq: s.seq, epoch: s.epoch, node: s.node, entries };
    } catch (err) {
      this.#log.error({ err, shard }, "shared checkpoint does not decode; not used");
      return undefined;
    }
  }
}
