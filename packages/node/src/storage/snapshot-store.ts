import { Level } from "level";
import { NodeError } from "../errors.js";
import type { CountEntry } from "@tally/core";

/** What a shard's snapshot holds. */
export interface ShardSnapshot {
  /** Highest stream sequence whose event is reflected in `entries` (0 = none). */
  seq: number;
  entries: CountEntry[];
}

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

  /** Opens (creating) the store; `DATA_DIR_LOCKED` if another process holds it. */
  static async open(dir: string): Promise<SnapshotStore> {
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

  /** Loads one shard's snapshot (empty for a shard never written). */
  async loadShard(shard: number): Promise<ShardSnapshot> {
    const seqRaw = await this.#db.get(seqKey(shard));
    const prefix = countPrefix(shard);
    const entries: CountEntry[] = [];
    for await (const [k, v] of this.#db.iterator({ gte: prefix, lt: `c${SEP}${shard}\u0001` })) {
      const [ns, name, key] = k.slice(prefix.length).split(SEP);
      entries.push({ ns: ns!, name: name!, key: Number(key), value: Number(v) });
    }
    return { seq: seqRaw === undefined ? 0 : Number(seqRaw), entries };
  }

  /** Writes changed entries and the applied sequence of one shard atomically. */
  async writeShard(shard: number, seq: number, entries: readonly CountEntry[]): Promise<void> {
    const prefix = countPrefix(shard);
    const batch = this.#db.batch();
    for (const e of entries) batch.put(prefix + e.ns + SEP + e.name + SEP + e.key, String(e.value));
    batch.put(seqKey(shard), String(seq));
    await batch.write();
  }

  /** Closes the database; idempotent. */
  async close(): Promise<void> {
    if (this.#db.status === "open" || this.#db.status === "opening") await this.#db.close();
  }
}
