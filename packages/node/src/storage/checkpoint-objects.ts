import { createHash } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { ObjectStore } from "@nats-io/obj";
import { openObjectStore } from "../nats/buckets.js";
import { nextStreamMessage } from "../nats/stream-lookup.js";
import { CHECKPOINTS_BUCKET } from "../names.js";

/** Stream behind the checkpoint object store. */
export const CHECKPOINTS_STREAM = `OBJ_${CHECKPOINTS_BUCKET}`;
/** Subject of an object's chunks. */
export function chunkSubject(nuid: string): string {
  return `$O.${CHECKPOINTS_BUCKET}.C.${nuid}`;
}
/** Subject of an object's metadata record (name in padded base64url, as the object store spells it). */
export function metaSubject(name: string): string {
  const b64 = Buffer.from(name).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
  return `$O.${CHECKPOINTS_BUCKET}.M.${b64}`;
}
const CHUNK_PREFIX = `$O.${CHECKPOINTS_BUCKET}.C.`;

/** An object's metadata record, as stored. */
export interface StoredObject {
  name: string;
  nuid: string;
  chunks: number;
  size: number;
  /** The object store's own digest (`SHA-256=<base64url>`). */
  digest: string;
  deleted: boolean;
  /** Server time of the metadata record, in ms since the epoch. */
  storedAt: number;
}

/**
 * The object store of checkpoint parts, used at the level of its stream where the
 * object store's own client falls short: reads chunk by chunk with direct gets (each
 * with a deadline; its `get` waits forever when the chunks are purged mid-read),
 * deletes without leaving a metadata tombstone per part ever written, and lists
 * metadata and chunk subjects with stream info (no consumer).
 */
export class CheckpointObjects {
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #os: ObjectStore;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, os: ObjectStore) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#os = os;
  }

  static async open(nc: NatsConnection): Promise<CheckpointObjects> {
    const os = await openObjectStore(nc, CHECKPOINTS_BUCKET);
    return new CheckpointObjects(nc, await jetstreamManager(nc), os);
  }

  /**
   * Stores `frames` as object `name`, pulling one frame at a time (so packing happens
   * only as fast as chunks are published); returns the body's size and SHA-256 (hex).
   * `onFrame` sees the bytes handed over so far. The object store publishes every chunk
   * before the metadata record, so a writer that dies mid-put leaves only orphan chunks.
   */
  async put(
    name: string,
    frames: AsyncIterable<Uint8Array>,
    onFrame?: (bytesSoFar: number) => void | Promise<void>,
  ): Promise<{ bytes: number; digest: string }> {
    const it = frames[Symbol.asyncIterator]();
    const sha = createHash("sha256");
    let bytes = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          const { done, value } = await it.next();
          if (done) return controller.close();
          sha.update(value);
          bytes += value.length;
          await onFrame?.(bytes);
          controller.enqueue(value);
        },
        async cancel() {
          await it.return?.(undefined);
        },
      },
      // Pulled only when the object store reads: what was handed over before is published.
      { highWaterMark: 0 },
    );
    await this.#os.put({ name }, body);
    return { bytes, digest: sha.digest("hex") };
  }

  /** The object's metadata record; undefined if there is none. */
  async info(name: string): Promise<StoredObject | undefined> {
    return this.#infoAt(metaSubject(name));
  }

  async #infoAt(subject: string): Promise<StoredObject | undefined> {
    const m = await this.#jsm.streams.getMessage(CHECKPOINTS_STREAM, { last_by_subj: subject });
    if (!m) return undefined;
    let o: Partial<StoredObject>;
    try {
      o = m.json<Partial<StoredObject>>();
    } catch {
      return undefined; // not an object store record: never ours to read or delete
    }
    if (typeof o.name !== "string" || typeof o.nuid !== "string") return undefined;
    return {
      name: o.name,
      nuid: o.nuid,
      chunks: typeof o.chunks === "number" ? o.chunks : 0,
      size: typeof o.size === "number" ? o.size : 0,
      digest: typeof o.digest === "string" ? o.digest : "",
      deleted: o.deleted === true,
      storedAt: m.time.getTime(),
    };
  }

  /**
   * The object's body, fetched chunk by chunk; undefined if the object is missing or
   * deleted, or its chunks vanished while being read (it was deleted or replaced).
   * The caller verifies the body.
   */
  async fetch(name: string): Promise<{ object: StoredObject; body: Buffer } | undefined> {
    const object = await this.info(name);
    if (!object || object.deleted) return undefined;
    const chunks: Uint8Array[] = [];
    let seq = 0;
    while (chunks.length < object.chunks) {
      const m = await nextStreamMessage(this.#nc, CHECKPOINTS_STREAM, chunkSubject(object.nuid), seq + 1);
      if (!m) return undefined;
      chunks.push(m.data);
      seq = m.seq;
    }
    return { object, body: Buffer.concat(chunks) };
  }

  /**
   * Deletes an object: its metadata record, then its chunks. Killed in between, the
   * chunks are orphans that a garbage collection purges.
   */
  async delete(object: Pick<StoredObject, "name" | "nuid">): Promise<void> {
    await this.#jsm.streams.purge(CHECKPOINTS_STREAM, { filter: metaSubject(object.name) });
    await this.purgeChunks(object.nuid);
  }

  /** Purges an object's chunks; returns how many there were. */
  async purgeChunks(nuid: string): Promise<number> {
    return (await this.#jsm.streams.purge(CHECKPOINTS_STREAM, { filter: chunkSubject(nuid) })).purged;
  }

  /** Every object's metadata record (deleted ones included). */
  async list(): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    for (const subject of await this.#subjects(`$O.${CHECKPOINTS_BUCKET}.M.>`)) {
      const o = await this.#infoAt(subject);
      if (o) out.push(o);
    }
    return out;
  }

  /** The nuid of every chunk subject holding messages. */
  async chunkNuids(): Promise<string[]> {
    return (await this.#subjects(`${CHUNK_PREFIX}>`)).map((s) => s.slice(CHUNK_PREFIX.length));
  }

  /** Server time (ms) of the last chunk stored under `nuid`, if any. */
  async lastChunkAt(nuid: string): Promise<number | undefined> {
    const m = await this.#jsm.streams.getMessage(CHECKPOINTS_STREAM, { last_by_subj: chunkSubject(nuid) });
    return m?.time.getTime();
  }

  async #subjects(filter: string): Promise<string[]> {
    const si = await this.#jsm.streams.info(CHECKPOINTS_STREAM, { subjects_filter: filter });
    return Object.keys(si.state.subjects ?? {});
  }
}
