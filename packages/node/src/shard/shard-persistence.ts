import type { Logger } from "pino";
import type { CountEntry, ShardCounts } from "@tally/core";
import type { NodeMetrics } from "../http/metrics.js";
import type { Checkpoints, FlatEntries, FlatRemovals } from "../storage/checkpoints.js";
import type { SnapshotStore } from "../storage/snapshot-store.js";
import type { Lease } from "../cluster/leases.js";

/**
 * Where a restored shard's state came from:
 * - `local`: this node's LevelDB snapshot (the newer of the two);
 * - `shared`: the shared checkpoint in the object store (another node wrote it, or it is newer);
 * - `empty`: neither held anything; the whole stream is replayed.
 */
export type RestoreSource = "local" | "shared" | "empty";

/** What a {@link ShardPersistence} works with. */
export interface PersistenceContext {
  readonly store: SnapshotStore;
  readonly checkpoints: Checkpoints;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  readonly nodeId: string;
  /** Snapshot a shard after this many events, besides the node's interval. */
  readonly snapshotEvents: number;
}

/**
 * Persistence of one shard: restore from the newer of the local snapshot and the
 * shared checkpoint, local snapshots of what changed (counts and sequence in one
 * atomic batch), and shared checkpoints of the whole state. One snapshot and one
 * checkpoint in flight at a time; a failed snapshot keeps its entries for the next.
 */
export class ShardPersistence {
  readonly #shard: number;
  readonly #counts: ShardCounts;
  readonly #ctx: PersistenceContext;
  /** Sequence of the last local snapshot written. */
  snapshotSeq = 0;
  /** Sequence of the last shared checkpoint written or found. */
  checkpointSeq = 0;
  #snapshotting: Promise<void> | undefined;
  #checkpointing: Promise<void> | undefined;
  #retryEntries: CountEntry[] = [];
  #sinceSnapshot = 0;

  constructor(shard: number, counts: ShardCounts, ctx: PersistenceContext) {
    this.#shard = shard;
    this.#counts = counts;
    this.#ctx = ctx;
  }

  /** Loads the newer of the local snapshot and the shared checkpoint into the counts. */
  async restore(): Promise<{ seq: number; source: RestoreSource }> {
    const [local, head] = await Promise.all([
      this.#ctx.store.loadShard(this.#shard),
      this.#ctx.checkpoints.head(this.#shard),
    ]);
    // Gathered first and loaded only once the whole chain was read: never half-loaded.
    const upserts: FlatEntries[] = [];
    const removals: FlatRemovals[] = [];
    const shared =
      head && head.seq > local.seq
        ? await this.#ctx.checkpoints.read(
            this.#shard,
            (flat) => upserts.push(flat),
            (flat) => removals.push(flat),
          )
        : undefined;
    let seq: number;
    let source: RestoreSource;
    if (shared && shared.seq > local.seq) {
      // Loaded as changed, so the next local snapshot rewrites every entry with
      // the new sequence in one batch and the local copy stays one consistent prefix.
      for (const flat of upserts)
        for (let i = 0; i < flat.length; i += 4)
          this.#counts.load(
            {
              ns: flat[i] as string,
              name: flat[i + 1] as string,
              key: flat[i + 2] as number,
              value: flat[i + 3] as number,
            },
            true,
          );
      // Until the counts can drop an entry, a removed one reads as 0 (as an absent one does).
      for (const flat of removals)
        for (let i = 0; i < flat.length; i += 3)
          this.#counts.load(
            { ns: flat[i] as string, name: flat[i + 1] as string, key: flat[i + 2] as number, value: 0 },
            true,
          );
      seq = shared.seq;
      source = "shared";
    } else {
      for (const e of local.entries) this.#counts.load(e);
      seq = local.seq;
      source = local.seq > 0 ? "local" : "empty";
    }
    this.snapshotSeq = local.seq;
    this.checkpointSeq = shared?.seq ?? head?.seq ?? 0;
    this.#ctx.log.debug(
      { shard: this.#shard, localSeq: local.seq, sharedSeq: shared?.seq, sharedBy: shared?.node, source },
      "shard restored",
    );
    return { seq, source };
  }

  /** Counts one processed event; every `snapshotEvents` of them starts a snapshot at `seq`. */
  processed(seq: number): void {
    if (++this.#sinceSnapshot >= this.#ctx.snapshotEvents) this.snapshot(seq).catch(() => undefined);
  }

  /** Writes the changed counts and `seq` (every event up to it is in them) to LevelDB in one batch. */
  snapshot(seq: number): Promise<void> {
    if (this.#snapshotting) return this.#snapshotting;
    if (seq === this.snapshotSeq && this.#retryEntries.length === 0) return Promise.resolve();
    const entries = this.#retryEntries.concat(this.#counts.takeDirty());
    this.#retryEntries = [];
    this.#sinceSnapshot = 0;
    const end = this.#ctx.metrics.snapshotSeconds.startTimer();
    this.#snapshotting = this.#ctx.store
      .writeShard(this.#shard, seq, entries)
      .then(
        () => {
          this.snapshotSeq = seq;
          end();
        },
        (err: unknown) => {
          // Keep the entries so the next snapshot writes them (later values win).
          this.#retryEntries = entries.concat(this.#retryEntries);
          this.#ctx.log.error({ err, shard: this.#shard }, "snapshot write failed");
          throw err;
        },
      )
      .finally(() => (this.#snapshotting = undefined));
    return this.#snapshotting;
  }

  /**
   * Writes the whole state at `seq` to the shared checkpoint, if the lease is still
   * held and something changed since the last one.
   */
  checkpoint(seq: number, lease: Lease): Promise<void> {
    if (this.#checkpointing) return this.#checkpointing;
    if (seq <= this.checkpointSeq || !lease.valid()) return Promise.resolve();
    // Taken synchronously: the counts and the sequence belong together.
    const entries = this.#counts.dump();
    const flat: FlatEntries = new Array<string | number>(entries.length * 4);
    let i = 0;
    for (const e of entries) {
      flat[i++] = e.ns;
      flat[i++] = e.name;
      flat[i++] = e.key;
      flat[i++] = e.value;
    }
    const end = this.#ctx.metrics.checkpointSeconds.startTimer();
    this.#ctx.log.debug({ shard: this.#shard, seq }, "checkpoint started");
    this.#checkpointing = this.#ctx.checkpoints
      .write(
        { shard: this.#shard, seq, epoch: lease.epoch, node: this.#ctx.nodeId, upserts: flat, removals: [] },
        { base: true },
      )
      .then(
        () => {
          this.checkpointSeq = Math.max(this.checkpointSeq, seq);
          this.#ctx.log.debug({ shard: this.#shard, seq, entries: entries.length }, "checkpoint written");
          end();
        },
        (err: unknown) => {
          this.#ctx.log.error({ err, shard: this.#shard }, "shared checkpoint write failed");
          throw err;
        },
      )
      .finally(() => (this.#checkpointing = undefined));
    return this.#checkpointing;
  }

  /** The checkpoint of a hand-off: skipped (with a warning) once the lease has lapsed. */
  finalCheckpoint(seq: number, lease: Lease): Promise<void> {
    if (seq <= this.checkpointSeq) return Promise.resolve();
    if (!lease.valid()) {
      this.#ctx.log.warn(
        { shard: this.#shard },
        "lease lapsed before the final checkpoint; the next owner replays more",
      );
      return Promise.resolve();
    }
    return this.checkpoint(seq, lease);
  }

  /** Waits for the snapshot and checkpoint in flight, if any (their failures are logged already). */
  async settle(): Promise<void> {
    await this.#snapshotting?.catch(() => undefined);
    await this.#checkpointing?.catch(() => undefined);
  }
}
