import type { Logger } from "pino";
import { ChangeConsumer, type ChangeTake, type ShardCounts } from "@tally/core";
import type { NodeMetrics } from "../http/metrics.js";
import type { Checkpoints } from "../storage/checkpoints.js";
import type { SnapshotStore } from "../storage/snapshot-store.js";
import type { Lease } from "../cluster/leases.js";
import { SLICE_COUNTERS, yieldToEventLoop } from "../slices.js";
import { ShardCheckpointer } from "./shard-checkpointer.js";

/** Entries per batch when a shard's local snapshot is rewritten whole. */
const REPLACE_BATCH_ENTRIES = 100_000;

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
 * shared checkpoint, local snapshots of what changed (counts, removals and sequence in
 * one atomic batch), shared checkpoints (by {@link ShardCheckpointer}) and the sweep of
 * expired buckets. Every long step runs in slices that yield to the event loop. One
 * snapshot, one checkpoint and one sweep in flight at a time; a failed snapshot hands its
 * changes to the next one.
 */
export class ShardPersistence {
  readonly #shard: number;
  readonly #counts: ShardCounts;
  readonly #ctx: PersistenceContext;
  readonly #checkpointer: ShardCheckpointer;
  /** Sequence of the last local snapshot written. */
  snapshotSeq = 0;
  #snapshotting: Promise<void> | undefined;
  #sweeping: Promise<number> | undefined;
  /** The next snapshot rewrites the shard whole (its state came from the shared checkpoint). */
  #replaceLocal = false;
  #sinceSnapshot = 0;

  constructor(shard: number, counts: ShardCounts, ctx: PersistenceContext) {
    this.#shard = shard;
    this.#counts = counts;
    this.#ctx = ctx;
    this.#checkpointer = new ShardCheckpointer(shard, counts, ctx);
  }

  /** Sequence of the last shared checkpoint written or found. */
  get checkpointSeq(): number {
    return this.#checkpointer.checkpointSeq;
  }

  /**
   * Loads the newer of the local snapshot and the shared checkpoint into the counts,
   * then drops what has expired since it was written.
   */
  async restore(nowMs: number): Promise<{ seq: number; source: RestoreSource }> {
    const localSeq = await this.#ctx.store.shardSeq(this.#shard);
    const shared = await this.#checkpointer.restoreIfNewer(localSeq);
    let seq: number;
    let source: RestoreSource;
    if (shared !== undefined) {
      // The next local snapshot rewrites the shard whole with the new sequence, so the
      // local copy stays one consistent prefix.
      this.#replaceLocal = true;
      seq = shared;
      source = "shared";
    } else {
      seq = await this.#ctx.store.loadShard(this.#shard, (ns, name, key, value) =>
        this.#counts.load(ns, name, key, value),
      );
      source = seq > 0 ? "local" : "empty";
      // No sequence record: entries a replace left unfinished may still be stored. The
      // first snapshot rewrites the shard whole, so they never come back.
      if (seq === 0) this.#replaceLocal = true;
    }
    this.snapshotSeq = localSeq;
    this.#ctx.log.debug(
      { shard: this.#shard, localSeq, sharedSeq: this.checkpointSeq, source, entries: this.#counts.entries },
      "shard restored",
    );
    await this.sweep(nowMs);
    return { seq, source };
  }

  /** Counts one processed event; every `snapshotEvents` of them starts a snapshot at `seq`. */
  processed(seq: number): void {
    if (++this.#sinceSnapshot >= this.#ctx.snapshotEvents) this.snapshot(seq).catch(() => undefined);
  }

  /**
   * Writes what changed since the last snapshot, with `seq` (every event up to it is in
   * the counts as of this call), to LevelDB in one batch.
   */
  snapshot(seq: number): Promise<void> {
    if (this.#snapshotting) return this.#snapshotting;
    if (seq === this.snapshotSeq && !this.#replaceLocal && !this.#counts.hasChanges(ChangeConsumer.snapshot)) {
      return Promise.resolve();
    }
    this.#sinceSnapshot = 0;
    const replace = this.#replaceLocal;
    // Taken synchronously with `seq`: the counts and the sequence belong together.
    const take = this.#counts.beginTake(ChangeConsumer.snapshot, replace);
    this.#snapshotting = this.#writeSnapshot(take, seq, replace).finally(() => (this.#snapshotting = undefined));
    return this.#snapshotting;
  }

  async #writeSnapshot(take: ChangeTake, seq: number, replace: boolean): Promise<void> {
    const end = this.#ctx.metrics.snapshotSeconds.startTimer();
    let written = false;
    let bytes = 0;
    try {
      if (replace) {
        // The whole state, written in parts so it is never all in one batch in memory;
        // the sequence record comes last, so the shard reads as empty until then.
        await this.#ctx.store.beginReplace(this.#shard);
        for (let done = false; !done;) {
          done = take.step(SLICE_COUNTERS);
          if (done || take.entries >= REPLACE_BATCH_ENTRIES)
            bytes += await this.#ctx.store.putEntries(this.#shard, take.drainUpserts());
          await yieldToEventLoop();
        }
      } else while (!take.step(SLICE_COUNTERS)) await yieldToEventLoop();
      bytes += await this.#ctx.store.writeShard(this.#shard, seq, take.upserts, take.removals);
      this.#ctx.metrics.snapshotBytes.inc(bytes);
      written = true;
      this.snapshotSeq = seq;
      if (replace) this.#replaceLocal = false;
      end();
    } catch (err) {
      this.#ctx.log.error({ err, shard: this.#shard }, "snapshot write failed");
      throw err;
    } finally {
      // A failed take is handed out again by the next snapshot (later values win).
      this.#counts.endTake(take, written);
    }
  }

  /** Writes the shared checkpoint at `seq` if the lease is held and something changed. */
  checkpoint(seq: number, lease: Lease): Promise<void> {
    return this.#checkpointer.checkpoint(seq, lease);
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

  /**
   * Drops the buckets that expired by `nowMs` from memory, a slice of counters at a
   * time; the next snapshot and checkpoint delete them from LevelDB and the shared
   * checkpoint. Resolves with the number of entries removed.
   */
  sweep(nowMs: number): Promise<number> {
    if (this.#sweeping) return this.#sweeping;
    this.#sweeping = (async () => {
      this.#counts.setNow(nowMs);
      let removed = 0;
      for (;;) {
        const r = this.#counts.sweep(SLICE_COUNTERS);
        removed += r.removed;
        if (r.done) return removed;
        await yieldToEventLoop();
      }
    })().finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  /** Waits for the snapshot, checkpoint and sweep in flight, if any (their failures are logged already). */
  async settle(): Promise<void> {
    await this.#sweeping;
    await this.#snapshotting?.catch(() => undefined);
    await this.#checkpointer.settle();
  }
}
