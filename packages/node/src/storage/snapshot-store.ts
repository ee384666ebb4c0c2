import { mkdir } from "node:fs/promises";
import { Level } from "level";
import { NodeError } from "../errors.js";
import { SLICE_ENTRIES, yieldToEventLoop } from "../slices.js";

/** Identity of the data a directory was built from; a mismatch refuses start-up. */
export interface DataIdentity {
  shards: number;
  periods: string;
  /** Creation time of the events stream, so a recreated stream is noticed. */
  streamCreated: string;
}

const SEP = "\u0000";
const countPrefix = (shard: number) => `c${SEP}${shard}${SEP}`;
const seqKey = (shard: number) => `s${SEP}${shard}`;
const META_KEY = `m${SEP}identity`;
/** Mode of the data dirs a node creates: owner only. */
const PRIVATE_DIR_MODE = 0o700;

/**
 * The node's local LevelDB: per shard, counts and the applied sequence, always
 * written together in one atomic batch, so a crash at any instant leaves a
 * snapshot that matches exactly one prefix of the stream.
 */
export class SnapshotStore {
  readonly #db: Level<string, string>;
  readonly dir: string;

  private constructor(dir: string, db: Level<string, string>) {
    this.dir = dir;
    this.#db = db;
  }

  /**
   * Opens (creating) the store; `DATA_DIR_LOCKED` if another process holds it. A dir it
   * creates (and any missing parent) is private to the node's user (0700): the counts
   * are the namespaces' data.
   */
  static async open(dir: string): Promise<SnapshotStore> {
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const db = new Level<string, string>(dir, { valueEncoding: "utf8" });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if (cause?.code === "LEVEL_LOCKED") {
        throw new NodeError(
          "DATA_DIR_LOCKED",
          `data dir ${dir} is in use by another process (LevelDB lock held); stop that node or use another --data dir`,
          { cause: err },
        );
      }
      throw new NodeError("DATA_DIR_MISMATCH", `cannot open data dir ${dir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return new SnapshotStore(dir, db);
  }

  /** Checks (or, on a fresh dir, records) what this data was built from. */
  async checkIdentity(id: DataIdentity): Promise<void> {
    const raw = await this.#db.get(META_KEY);
    if (raw === undefined) {
      await this.#db.put(META_KEY, JSON.stringify(id));
      return;
    }
    const had = JSON.parse(raw) as DataIdentity;
    for (const k of ["shards", "periods", "streamCreated"] as const) {
      if (had[k] !== id[k]) {
        throw new NodeError(
          "DATA_DIR_MISMATCH",
          `data dir ${this.dir} was built with ${k}=${had[k]} but the cluster now has ${k}=${id[k]}; start with an empty --data dir (it is rebuilt from the stream)`,
        );
      }
    }
  }

  /** The sequence of a shard's snapshot (0 = none), without reading its entries. */
  async shardSeq(shard: number): Promise<number> {
    const raw = await this.#db.get(seqKey(shard));
    return raw === undefined ? 0 : Number(raw);
  }

  /**
   * Streams one shard's snapshot into `onEntry`, a slice at a time with a turn of the
   * event loop between slices, and returns its sequence. A shard without a sequence
   * record holds nothing (entries left by a replace that did not finish are ignored).
   */
  async loadShard(
    shard: number,
    onEntry: (ns: string, name: string, key: number, value: number) => void,
  ): Promise<number> {
    const seq = await this.shardSeq(shard);
    if (seq === 0) return 0;
    const prefix = countPrefix(shard);
    const it = this.#db.iterator({ gte: prefix, lt: `c${SEP}${shard}\u0001` });
    try {
      for (;;) {
        const slice = await it.nextv(SLICE_ENTRIES);
        if (slice.length === 0) break;
        for (const [k, v] of slice) {
          const [ns, name, key] = k.slice(prefix.length).split(SEP);
          onEntry(ns!, name!, Number(key), Number(v));
        }
        await yieldToEventLoop();
      }
    } finally {
      await it.close();
    }
    return seq;
  }

  /**
   * Writes one shard's changes and its sequence in one atomic batch: `removals` (flat
   * `[ns, name, key, …]`) are deleted, then `upserts` (flat `[ns, name, key, value, …]`)
   * written. The batch is built a slice at a time. Resolves with the bytes of the keys
   * and values written (deleted keys included).
   */
  async writeShard(
    shard: number,
    seq: number,
    upserts: readonly (string | number)[],
    removals: readonly (string | number)[] = [],
  ): Promise<number> {
    const prefix = countPrefix(shard);
    const batch = this.#db.batch();
    let n = 0;
    let bytes = 0;
    for (let i = 0; i < removals.length; i += 3) {
      const key = prefix + String(removals[i]) + SEP + String(removals[i + 1]) + SEP + String(removals[i + 2]);
      batch.del(key);
      bytes += Buffer.byteLength(key);
      if (++n % SLICE_ENTRIES === 0) await yieldToEventLoop();
    }
    for (let i = 0; i < upserts.length; i += 4) {
      const key = prefix + String(upserts[i]) + SEP + String(upserts[i + 1]) + SEP + String(upserts[i + 2]);
      const value = String(upserts[i + 3]);
      batch.put(key, value);
      bytes += Buffer.byteLength(key) + value.length;
      if (++n % SLICE_ENTRIES === 0) await yieldToEventLoop();
    }
    const sk = seqKey(shard);
    const sv = String(seq);
    batch.put(sk, sv);
    await batch.write();
    return bytes + sk.length + sv.length;
  }

  /**
   * Starts replacing a shard's snapshot with a state restored from elsewhere: its
   * sequence record goes first (the shard reads as empty until {@link writeShard} ends
   * the replace), then its entries. Parts of the new state can then be written in
   * several batches with {@link putEntries}: a crash midway leaves an empty snapshot.
   */
  async beginReplace(shard: number): Promise<void> {
    await this.#db.del(seqKey(shard));
    await this.#db.clear({ gte: countPrefix(shard), lt: `c${SEP}${shard}\u0001` });
  }

  /**
   * Writes entries (flat `[ns, name, key, value, …]`) of a shard being replaced, in one
   * batch built in slices; resolves with the bytes of the keys and values written.
   */
  async putEntries(shard: number, upserts: readonly (string | number)[]): Promise<number> {
    const prefix = countPrefix(shard);
    const batch = this.#db.batch();
    let bytes = 0;
    for (let i = 0; i < upserts.length; i += 4) {
      const key = prefix + String(upserts[i]) + SEP + String(upserts[i + 1]) + SEP + String(upserts[i + 2]);
      const value = String(upserts[i + 3]);
      batch.put(key, value);
      bytes += Buffer.byteLength(key) + value.length;
      if ((i / 4 + 1) % SLICE_ENTRIES === 0) await yieldToEventLoop();
    }
    await batch.write();
    return bytes;
  }

  /** Sets the value of one stored entry, leaving the sequence as it is (tools and tests: plant a difference). */
  async putEntry(shard: number, ns: string, name: string, key: number, value: number): Promise<void> {
    await this.#db.put(countPrefix(shard) + ns + SEP + name + SEP + String(key), String(value));
  }

  /** Number of stored entries of one shard (tests and tools). */
  async countEntries(shard: number): Promise<number> {
    let n = 0;
    for await (const _ of this.#db.keys({ gte: countPrefix(shard), lt: `c${SEP}${shard}\u0001` })) n++;
    return n;
  }

  /**
   * Bytes of the keys and values of every count entry and sequence record (tests: what
   * one snapshot into an empty store wrote, as `tally_snapshot_bytes_written_total` counts it).
   */
  async storedBytes(): Promise<number> {
    let bytes = 0;
    for await (const [k, v] of this.#db.iterator())
      if (k !== META_KEY) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    return bytes;
  }

  /** Closes the database; idempotent. */
  async close(): Promise<void> {
    if (this.#db.status === "open" || this.#db.status === "opening") await this.#db.close();
  }
}
