import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { ShardCounts, TallyError, type Period, type Retention } from "@tally/core";
import type { NodeMetrics, ShardStats } from "../http/metrics.js";
import { deadLetterNamespace } from "../http/namespace-counts.js";
import type { Lease } from "../cluster/leases.js";
import type { Checkpoints } from "../storage/checkpoints.js";
import type { SnapshotStore } from "../storage/snapshot-store.js";
import { DeadLetterWriter } from "./dead-letter-writer.js";
import type { LogGapView } from "./log-gap-marks.js";
import { ShardConsumer } from "./shard-consumer.js";
import { ShardPersistence, type RestoreSource } from "./shard-persistence.js";
import { ShardProgress } from "./shard-progress.js";
import { ShardReads } from "./shard-reads.js";
import { applyStoredEvent } from "./stored-event.js";

/** An idle shard confirms it caught up with the stream every this many checkpoint ticks (so a bounded log never passes it). */
const IDLE_CONFIRM_EVERY = 1;

/** Everything an actor needs from its node. */
export interface ShardActorContext {
  readonly shards: number;
  readonly periods: readonly Period[];
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly store: SnapshotStore;
  readonly checkpoints: Checkpoints;
  readonly nodeId: string;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  readonly readWaitMs: number;
  readonly maxWaitingReads: number;
  readonly pullBatch: number;
  readonly snapshotEvents: number;
  readonly maxSeriesPoints: number;
  /** The cluster's retention as of now (it changes when `tally init` is run again). */
  readonly retention: () => Readonly<Retention>;
  /** The node's clock (epoch ms): what buckets expire by. */
  readonly now: () => number;
  /** Shards marked with a log gap (their read replies say so). */
  readonly logGaps: LogGapView;
}

/**
 * Lifecycle of a shard actor:
 * - `new`: holds the lease; nothing loaded, no reads taken;
 * - `replaying`: restored and taking reads, which wait until the shard has caught up
 *   with the stream as it was when the node took it; events come from the node's batch replay;
 * - `running`: reads its own consumer, applies events, answers reads;
 * - `closing`: stopping: waiting reads are refused (retryable), the consumer stops, the
 *   final snapshot (and checkpoint, on a hand-off) is written; new reads get `NOT_READY`;
 * - `closed`: unsubscribed; final.
 */
export type ActorStatus = "new" | "replaying" | "running" | "closing" | "closed";

/**
 * One shard while this node holds its lease: the only reader of its consumer, the
 * only writer of its counts and the only answerer of its reads. JavaScript runs one
 * callback at a time, so each step (apply one event, answer one read) is atomic
 * without locks. Every answer first checks the lease (fencing): once it has lapsed
 * the actor stays silent, as another node may own the shard. The work is done by its
 * parts: {@link ShardConsumer} (consumer supervision), {@link applyStoredEvent} and
 * {@link DeadLetterWriter} (the apply path), {@link ShardReads} (read serving, waiting
 * reads, catch-up probe) and {@link ShardPersistence} (restore, snapshots, checkpoints);
 * the actor keeps their order through its lifecycle.
 */
export class ShardActor {
  readonly shard: number;
  readonly lease: Lease;
  readonly #ctx: ShardActorContext;
  readonly #counts: ShardCounts;
  readonly #progress = new ShardProgress();
  readonly #persistence: ShardPersistence;
  readonly #consumer: ShardConsumer;
  readonly #reads: ShardReads;
  readonly #deadLetters: DeadLetterWriter;
  #status: ActorStatus = "new";
  /** Valid events applied since this node took the shard. */
  #eventsApplied = 0;
  /** Events stored after the last one the consumer delivered (JetStream's pending with it). */
  #lag = 0;
  #closing: Promise<void> | undefined;
  /** Checkpoint ticks that found the shard idle. */
  #idleCheckpoints = 0;
  /** Where the state came from at restore. */
  source: RestoreSource = "empty";

  constructor(shard: number, ctx: ShardActorContext, lease: Lease) {
    this.shard = shard;
    this.lease = lease;
    this.#ctx = ctx;
    this.#counts = new ShardCounts(ctx.periods, ctx.retention());
    this.#persistence = new ShardPersistence(shard, this.#counts, ctx);
    this.#deadLetters = new DeadLetterWriter(shard, ctx);
    this.#consumer = new ShardConsumer(shard, ctx.js, ctx.pullBatch, ctx.log, {
      nextSeq: () => this.#progress.confirmedSeq + 1,
      handle: (m) => {
        this.#lag = m.info.pending; // parsed with m.seq already: no extra work
        return this.#process(m);
      },
      active: () => this.#status === "running" && !ctx.nc.isClosed(),
    });
    this.#reads = new ShardReads(shard, ctx, lease, this.#counts, this.#progress, {
      notServing: () => (this.takingReads ? undefined : this.#status),
      consuming: () => this.#status === "running",
      consumerStalled: () => this.#consumer.recreate(),
    });
  }

  /**
   * Restores the newer of the local snapshot and the shared checkpoint, then takes
   * reads. Until {@link consume} the shard is replaying: reads wait (as if they asked
   * for `minSeq = streamLastSeq`) instead of seeing old values.
   */
  async restore(streamLastSeq: number): Promise<void> {
    const { seq, source } = await this.#persistence.restore(this.#ctx.now());
    this.source = source;
    this.#progress.restored(seq);
    if (this.#status !== "new") return; // closed while restoring
    this.#status = "replaying";
    this.#reads.open(streamLastSeq);
  }

  /** True from restore (reads are taken, and wait while replaying) until close. */
  get takingReads(): boolean {
    return this.#status === "replaying" || this.#status === "running";
  }

  /** Every event of this shard with sequence ≤ this is reflected in its counts. */
  get confirmedSeq(): number {
    return this.#progress.confirmedSeq;
  }

  /**
   * Applies one event of the node's batch replay (one unfiltered consumer for all the
   * shards it took). A promise only when the event had to be dead-lettered.
   */
  replay(m: JsMsg): Promise<void> | undefined {
    if (this.#status !== "replaying" || m.seq <= this.#progress.confirmedSeq) return undefined;
    return this.#process(m);
  }

  /**
   * Ends the replay (every event of the shard up to `replayedTo` seen), then consumes and
   * serves. Only a replaying actor moves on: one that started closing skipped the events
   * of the replay, and must never claim them (its snapshots would then be ahead of its counts).
   */
  async consume(replayedTo: number): Promise<void> {
    if (this.#status !== "replaying") return;
    this.#progress.caughtUp(replayedTo);
    await this.#consumer.open();
    if (this.#status !== "replaying") {
      await this.#consumer.stop(); // closed while starting
      return;
    }
    this.#status = "running";
    this.#consumer.start();
    this.#reads.consuming();
  }

  /** Plain figures for metrics and status. */
  stats(): ShardStats {
    return {
      shard: this.shard,
      eventsApplied: this.#eventsApplied,
      processedSeq: this.#progress.processedSeq,
      snapshotSeq: this.#persistence.snapshotSeq,
      ready: this.#status === "running" && this.#consumer.healthy && this.lease.valid() && this.#reads.caughtUp,
      entries: this.#counts.entries,
      epoch: this.lease.epoch,
      leaseValid: this.lease.valid(),
      lag: this.#lag,
      source: this.source,
    };
  }

  /** Applies (or dead-letters) one event; a promise only for the dead-letter path. */
  #process(m: JsMsg): Promise<void> | undefined {
    try {
      this.#ctx.metrics.namespaces.applied.add(applyStoredEvent(m, this.shard, this.#ctx.shards, this.#counts));
      this.#eventsApplied++;
    } catch (err) {
      const e =
        err instanceof TallyError
          ? err
          : new TallyError("INTERNAL", `unexpected error applying event: ${String(err)}`, { cause: err });
      this.#ctx.metrics.namespaces.deadLettered.add(deadLetterNamespace(m.subject));
      return this.#deadLetters.write(m, e, () => this.takingReads).then(() => this.#processed(m.seq));
    }
    this.#processed(m.seq);
    return undefined;
  }

  #processed(seq: number): void {
    this.#progress.processed(seq);
    this.#persistence.processed(seq);
    this.#reads.release();
  }

  /**
   * Writes changed counts and the confirmed sequence to LevelDB in one batch. Only while
   * serving: a closing actor writes its own final snapshot, and nothing after it.
   */
  snapshot(): Promise<void> {
    if (!this.takingReads) return Promise.resolve();
    return this.#persistence.snapshot(this.#progress.confirmedSeq);
  }

  /** Writes the whole state to the shared checkpoint, if serving, the lease is held and it changed. */
  async checkpoint(): Promise<void> {
    if (!this.takingReads) return;
    // An idle shard proves at every interval that the stream holds none of its events
    // up to the last one, so its checkpoint's sequence (an empty delta) keeps up with a
    // bounded log and a later restore is not taken for one older than the log.
    const idle = this.#progress.confirmedSeq <= this.#persistence.checkpointSeq;
    if (idle && this.#status === "running" && ++this.#idleCheckpoints % IDLE_CONFIRM_EVERY === 0) {
      await this.#reads
        .confirmIdle()
        .catch((err: unknown) => this.#ctx.log.debug({ err, shard: this.shard }, "idle probe failed"));
    }
    if (!this.takingReads) return;
    await this.#persistence.checkpoint(this.#progress.confirmedSeq, this.lease);
  }

  /**
   * Drops the buckets that have expired by now (under the cluster's current retention)
   * from memory, then writes the snapshot and checkpoint that delete them from LevelDB
   * and the shared checkpoint. Only while serving.
   */
  async sweep(): Promise<void> {
    if (!this.takingReads) return;
    this.#counts.setRetention(this.#ctx.retention());
    const removed = await this.#persistence.sweep(this.#ctx.now());
    if (removed === 0 || !this.takingReads) return;
    this.#ctx.log.debug({ shard: this.shard, removed }, "expired buckets swept");
    await Promise.all([this.snapshot(), this.checkpoint()]);
  }

  /**
   * Stops serving: no more reads are taken, waiting ones get a retryable
   * `SHARD_NOT_OWNED`, the consumer stops and a final local snapshot is written.
   * With `checkpoint` (a hand-off or a clean stop, lease still held) the shared
   * checkpoint is written too, so the next owner replays almost nothing. Memoised:
   * every caller waits for the same close (the first caller's `checkpoint` wins).
   */
  close(opts: { checkpoint: boolean } = { checkpoint: true }): Promise<void> {
    this.#closing ??= this.#close(opts.checkpoint);
    return this.#closing;
  }

  async #close(checkpoint: boolean): Promise<void> {
    const wasActive = this.takingReads;
    this.#status = "closing";
    // Reads keep arriving until the subscription is drained below; while the lease
    // is held they get a retryable NOT_READY, so none waits out a client timeout.
    this.#reads.refuseWaiting();
    this.#progress.wake();
    // Without a valid lease (dropped, lost, fenced) this node must not even take reads:
    // a read it takes and cannot answer would go unanswered if no one else holds the shard.
    if (!this.lease.valid()) this.#reads.unsubscribe();
    try {
      if (!wasActive) return;
      await this.#consumer.stop();
      await this.#persistence.settle();
      const seq = this.#progress.confirmedSeq;
      const results = await Promise.allSettled([
        this.#persistence.snapshot(seq),
        checkpoint ? this.#persistence.finalCheckpoint(seq, this.lease) : Promise.resolve(),
      ]);
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
    } finally {
      await this.#reads.close();
      this.#status = "closed";
    }
  }
}
