import { ChangeConsumer, type ChangeTake, type CountEntry, type ShardCounts } from "@tally/core";
import type { Lease } from "../cluster/leases.js";
import { SLICE_COUNTERS, SLICE_ENTRIES, yieldToEventLoop } from "../slices.js";
import type { PersistenceContext } from "./shard-persistence.js";

/**
 * The shared checkpoint of one shard: restores it when it is newer than the local
 * snapshot, and writes the state to it (one write in flight at a time, only while the
 * lease is held). The counts are taken as a consistent cut, a slice at a time.
 */
export class ShardCheckpointer {
  readonly #shard: number;
  readonly #counts: ShardCounts;
  readonly #ctx: PersistenceContext;
  /** Sequence of the last shared checkpoint written or found. */
  checkpointSeq = 0;
  #checkpointing: Promise<void> | undefined;

  constructor(shard: number, counts: ShardCounts, ctx: PersistenceContext) {
    this.#shard = shard;
    this.#counts = counts;
    this.#ctx = ctx;
  }

  /**
   * Loads the shared checkpoint into the counts if it is newer than `localSeq`, and
   * returns its sequence; undefined (nothing loaded) otherwise.
   */
  async restoreIfNewer(localSeq: number): Promise<number | undefined> {
    const shared = await this.#ctx.checkpoints.read(this.#shard);
    this.checkpointSeq = shared?.seq ?? 0;
    if (!shared || shared.seq <= localSeq) return undefined;
    let n = 0;
    for (const e of shared.entries) {
      this.#counts.load(e.ns, e.name, e.key, e.value);
      if (++n % SLICE_ENTRIES === 0) await yieldToEventLoop();
    }
    return shared.seq;
  }

  /** Writes the checkpoint at `seq` if the lease is held and the shard moved on since the last one. */
  checkpoint(seq: number, lease: Lease): Promise<void> {
    if (this.#checkpointing) return this.#checkpointing;
    if (seq <= this.checkpointSeq || !lease.valid()) return Promise.resolve();
    // Taken synchronously with `seq`: the counts and the sequence belong together.
    const take = this.#counts.beginTake(ChangeConsumer.checkpoint, true);
    this.#checkpointing = this.#write(take, seq, lease).finally(() => (this.#checkpointing = undefined));
    return this.#checkpointing;
  }

  async #write(take: ChangeTake, seq: number, lease: Lease): Promise<void> {
    const end = this.#ctx.metrics.checkpointSeconds.startTimer();
    this.#ctx.log.debug({ shard: this.#shard, seq }, "checkpoint started");
    let written = false;
    try {
      while (!take.step(SLICE_COUNTERS)) await yieldToEventLoop();
      const flat = take.upserts;
      const entries: CountEntry[] = [];
      for (let i = 0; i < flat.length; i += 4) {
        entries.push({
          ns: flat[i] as string,
          name: flat[i + 1] as string,
          key: flat[i + 2] as number,
          value: flat[i + 3] as number,
        });
      }
      await this.#ctx.checkpoints.write({
        shard: this.#shard,
        seq,
        epoch: lease.epoch,
        node: this.#ctx.nodeId,
        entries,
      });
      written = true;
      this.checkpointSeq = Math.max(this.checkpointSeq, seq);
      this.#ctx.log.debug({ shard: this.#shard, seq, entries: take.entries }, "checkpoint written");
      end();
    } catch (err) {
      this.#ctx.log.error({ err, shard: this.#shard }, "shared checkpoint write failed");
      throw err;
    } finally {
      this.#counts.endTake(take, written);
    }
  }

  /** Waits for the checkpoint in flight, if any (its failure is logged already). */
  async settle(): Promise<void> {
    await this.#checkpointing?.catch(() => undefined);
  }
}
