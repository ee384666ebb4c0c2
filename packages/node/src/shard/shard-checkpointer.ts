import { ChangeConsumer, type ChangeTake, type ShardCounts } from "@tally/core";
import type { Lease } from "../cluster/leases.js";
import { CheckpointError } from "../errors.js";
import { SLICE_COUNTERS, yieldToEventLoop } from "../slices.js";
import type { PersistenceContext } from "./shard-persistence.js";

/**
 * The shared checkpoint of one shard, a chain of a base and deltas (see
 * `storage/checkpoints.ts`): restores it when it is newer than the local snapshot, and
 * writes what changed since the last part: a delta in proportion to the entries
 * changed (and removed), or a base of every entry when the chain cannot be followed
 * (first write, state restored from the local snapshot, a chain moved by someone else).
 * Compacts the chain when it grows. One write in flight at a time, only while the lease
 * is held; the counts are taken as a consistent cut, a slice at a time.
 */
export class ShardCheckpointer {
  readonly #shard: number;
  readonly #counts: ShardCounts;
  readonly #ctx: PersistenceContext;
  /** Sequence of the last shared checkpoint written or found. */
  checkpointSeq = 0;
  /** The next write must be a base: the chain does not hold exactly what the counts held at the last write. */
  #needBase = true;
  #checkpointing: Promise<void> | undefined;

  constructor(shard: number, counts: ShardCounts, ctx: PersistenceContext) {
    this.#shard = shard;
    this.#counts = counts;
    this.#ctx = ctx;
  }

  /**
   * Loads the shared checkpoint into the counts if it is newer than `localSeq` (only its
   * manifest is read otherwise), and returns its sequence; undefined when nothing was
   * loaded (the caller loads the local snapshot).
   */
  async restoreIfNewer(localSeq: number): Promise<number | undefined> {
    const head = await this.#ctx.checkpoints.head(this.#shard);
    this.checkpointSeq = head?.seq ?? 0;
    this.#needBase = true;
    if (!head || head.seq <= localSeq) return undefined;
    try {
      const info = await this.#ctx.checkpoints.read(
        this.#shard,
        (flat) => {
          for (let i = 0; i < flat.length; i += 4) {
            this.#counts.load(flat[i] as string, flat[i + 1] as string, flat[i + 2] as number, flat[i + 3] as number);
          }
        },
        (flat) => {
          for (let i = 0; i < flat.length; i += 3) {
            this.#counts.unload(flat[i] as string, flat[i + 1] as string, flat[i + 2] as number);
          }
        },
      );
      if (!info || info.seq <= localSeq) {
        this.#counts.clear();
        return undefined;
      }
      this.checkpointSeq = info.seq;
      this.#needBase = false; // the counts are exactly the chain this instance has read
      return info.seq;
    } catch (err) {
      this.#counts.clear();
      // Only a chain proven unreadable (a part that passed its digest and still does not
      // decode) is given up for the local snapshot. Any other failure (a timeout, a lost
      // connection) fails the restore, to be tried again: falling back would write a base
      // behind a good chain and throw it away.
      if (!(err instanceof CheckpointError && err.code === "CHECKPOINT_CORRUPT")) throw err;
      this.#ctx.log.error(
        { err, shard: this.#shard },
        "shared checkpoint unreadable; restoring from the local snapshot",
      );
      return undefined;
    }
  }

  /**
   * Writes the checkpoint at `seq` if the lease is held and the shard moved on (or
   * buckets were removed) since the last one.
   */
  checkpoint(seq: number, lease: Lease): Promise<void> {
    if (this.#checkpointing) return this.#checkpointing;
    if (!lease.valid()) return Promise.resolve();
    if (seq <= this.checkpointSeq && !this.#counts.hasChanges(ChangeConsumer.checkpoint)) return Promise.resolve();
    const base = this.#needBase;
    // Taken synchronously with `seq`: the counts and the sequence belong together.
    const take = this.#counts.beginTake(ChangeConsumer.checkpoint, base);
    this.#checkpointing = this.#write(take, seq, lease, base).finally(() => (this.#checkpointing = undefined));
    return this.#checkpointing;
  }

  async #write(take: ChangeTake, seq: number, lease: Lease, base: boolean): Promise<void> {
    const { checkpoints, metrics, log, nodeId } = this.#ctx;
    const end = metrics.checkpointSeconds.startTimer();
    let written = false;
    try {
      while (!take.step(SLICE_COUNTERS)) await yieldToEventLoop();
      const info = await checkpoints.write(
        { shard: this.#shard, seq, epoch: lease.epoch, node: nodeId, upserts: take.upserts, removals: take.removals },
        { base },
      );
      written = true;
      this.#needBase = false;
      // A base may move the chain back (a new owner that restored an older state).
      this.checkpointSeq = base ? seq : Math.max(this.checkpointSeq, seq);
      metrics.checkpointBytes.inc({ kind: base ? "base" : "delta" }, info.bytesWritten);
      log.debug(
        { shard: this.#shard, seq, base, entries: take.entries, bytes: info.bytesWritten },
        "checkpoint written",
      );
      if (checkpoints.needsCompaction(info) && lease.valid()) await this.#compact(lease);
      end();
    } catch (err) {
      // A chain that moved (or has no base) takes a base next; a newer owner's chain is left alone.
      if (err instanceof CheckpointError && err.code !== "CHECKPOINT_FENCED") this.#needBase = true;
      log.error({ err, shard: this.#shard, base }, "shared checkpoint write failed");
      throw err;
    } finally {
      this.#counts.endTake(take, written);
    }
  }

  /** Rewrites the chain into one base from its own parts, dropping expired buckets, then collects its garbage. */
  async #compact(lease: Lease): Promise<void> {
    const { checkpoints, metrics, log, nodeId } = this.#ctx;
    try {
      const info = await checkpoints.compact(this.#shard, lease.epoch, nodeId, (key) => this.#counts.isExpired(key));
      metrics.checkpointBytes.inc({ kind: "compaction" }, info.bytesWritten);
      log.debug({ shard: this.#shard, bytes: info.bytesWritten }, "checkpoint chain compacted");
      await checkpoints.collectGarbage(this.#shard);
    } catch (err) {
      // The deltas stay valid; a chain that cannot be read any more gets a base from memory next.
      if (err instanceof CheckpointError && err.code !== "CHECKPOINT_FENCED") this.#needBase = true;
      log.warn({ err, shard: this.#shard }, "checkpoint compaction failed");
    }
  }

  /** Waits for the checkpoint in flight, if any (its failure is logged already). */
  async settle(): Promise<void> {
    await this.#checkpointing?.catch(() => undefined);
  }
}
