import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { RequestError, ShardCounts, TallyError, shardReadFilter, type Period } from "@tally/core";
import type { NodeMetrics, ShardStats } from "../http/metrics.js";
import { respondError } from "../nats/replies.js";
import type { Lease } from "../cluster/leases.js";
import type { Checkpoints } from "../storage/checkpoints.js";
import type { SnapshotStore } from "../storage/snapshot-store.js";
import { CatchUpProbe } from "./catch-up-probe.js";
import { DeadLetterWriter } from "./dead-letter-writer.js";
import { answerRead, parseShardRead, type ShardRead } from "./read-server.js";
import { SequenceWaiters } from "./sequence-waiters.js";
import { ShardConsumer } from "./shard-consumer.js";
import { ShardPersistence, type RestoreSource } from "./shard-persistence.js";
import { ShardProgress } from "./shard-progress.js";
import { applyStoredEvent } from "./stored-event.js";

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
  readonly pullBatch: number;
  readonly snapshotEvents: number;
  readonly maxSeriesPoints: number;
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
 * parts: {@link ShardConsumer}, {@link applyStoredEvent}, {@link DeadLetterWriter},
 * {@link parseShardRead}/{@link answerRead}, {@link SequenceWaiters}, {@link CatchUpProbe}
 * and {@link ShardPersistence}; the actor keeps their order.
 */
export class ShardActor {
  readonly shard: number;
  readonly lease: Lease;
  readonly #ctx: ShardActorContext;
  readonly #counts: ShardCounts;
  readonly #progress = new ShardProgress();
  readonly #waiters = new SequenceWaiters<{ msg: Msg; read: ShardRead }>();
  readonly #persistence: ShardPersistence;
  readonly #consumer: ShardConsumer;
  readonly #probe: CatchUpProbe;
  readonly #deadLetters: DeadLetterWriter;
  #status: ActorStatus = "new";
  /** Reads wait for this sequence until the shard has caught up after it was taken. */
  #readyTarget = 0;
  /** Valid events applied since this node took the shard. */
  #eventsApplied = 0;
  #sub: Subscription | undefined;
  #closing: Promise<void> | undefined;
  /** Where the state came from at restore. */
  source: RestoreSource = "empty";

  constructor(shard: number, ctx: ShardActorContext, lease: Lease) {
    this.shard = shard;
    this.lease = lease;
    this.#ctx = ctx;
    this.#counts = new ShardCounts(ctx.periods);
    this.#persistence = new ShardPersistence(shard, this.#counts, ctx);
    this.#deadLetters = new DeadLetterWriter(shard, ctx.js, ctx.metrics, ctx.log);
    this.#consumer = new ShardConsumer(shard, ctx.js, ctx.pullBatch, ctx.log, {
      nextSeq: () => this.#progress.confirmedSeq + 1,
      handle: (m) => this.#process(m),
      active: () => this.#status === "running",
    });
    this.#probe = new CatchUpProbe(shard, ctx.nc, ctx.jsm, this.#progress, ctx.log, {
      minNeed: () => this.#waiters.minNeed(),
      running: () => this.#status === "running",
      caughtUp: () => this.#releaseWaiters(),
      stalled: () => this.#consumer.recreate(),
    });
  }

  /**
   * Restores the newer of the local snapshot and the shared checkpoint, then takes
   * reads. Until {@link consume} the shard is replaying: reads wait (as if they asked
   * for `minSeq = streamLastSeq`) instead of seeing old values.
   */
  async restore(streamLastSeq: number): Promise<void> {
    const { seq, source } = await this.#persistence.restore();
    this.source = source;
    this.#progress.restored(seq);
    this.#readyTarget = streamLastSeq;
    if (this.#status !== "new") return; // closed while restoring
    this.#status = "replaying";
    this.#sub = this.#ctx.nc.subscribe(shardReadFilter(this.shard), { callback: (_err, msg) => this.handleRead(msg) });
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

  /** Ends the replay (every event of the shard up to `replayedTo` seen), then consumes and serves. */
  async consume(replayedTo: number): Promise<void> {
    this.#progress.caughtUp(replayedTo);
    await this.#consumer.open();
    if (this.#status !== "replaying") {
      await this.#consumer.stop(); // closed while starting
      return;
    }
    this.#status = "running";
    this.#consumer.start();
    this.#releaseWaiters();
    if (this.#waiters.size > 0) this.#probe.kick();
  }

  /** Plain figures for metrics and status. */
  stats(): ShardStats {
    return {
      shard: this.shard,
      eventsApplied: this.#eventsApplied,
      processedSeq: this.#progress.processedSeq,
      snapshotSeq: this.#persistence.snapshotSeq,
      ready:
        this.#status === "running" &&
        this.#consumer.healthy &&
        this.lease.valid() &&
        this.#progress.confirmedSeq >= this.#readyTarget,
      entries: this.#counts.entries,
      epoch: this.lease.epoch,
      source: this.source,
    };
  }

  /** Applies (or dead-letters) one event; a promise only for the dead-letter path. */
  #process(m: JsMsg): Promise<void> | undefined {
    try {
      applyStoredEvent(m, this.shard, this.#ctx.shards, this.#counts);
      this.#eventsApplied++;
    } catch (err) {
      const e =
        err instanceof TallyError
          ? err
          : new TallyError("INTERNAL", `unexpected error applying event: ${String(err)}`, { cause: err });
      return this.#deadLetters.write(m, e, () => this.takingReads).then(() => this.#processed(m.seq));
    }
    this.#processed(m.seq);
    return undefined;
  }

  #processed(seq: number): void {
    this.#progress.processed(seq);
    this.#persistence.processed(seq);
    if (this.#waiters.size > 0) this.#releaseWaiters();
  }

  /** Answers one read; never throws, always replies (unless there is no reply subject). */
  handleRead(msg: Msg): void {
    if (!msg.reply) return;
    if (!this.lease.valid()) {
      // Fenced: the lease may be someone else's now, and they answer this read.
      // Stop taking reads at once (the node drops the shard on its next round).
      this.#ctx.metrics.reads.inc({ outcome: "fenced" });
      this.#sub?.unsubscribe();
      return;
    }
    let read: ShardRead;
    try {
      if (!this.takingReads)
        throw new RequestError("NOT_READY", `shard ${this.shard} is not serving (${this.#status})`);
      read = parseShardRead(msg, this.shard, this.#ctx);
    } catch (err) {
      this.#fail(msg, err);
      return;
    }
    const need = Math.max(read.req.minSeq ?? 0, this.#readyTarget);
    if (need <= this.#progress.confirmedSeq) {
      this.#answer(msg, read);
      return;
    }
    this.#waiters.add(need, { msg, read }, this.#ctx.readWaitMs, (w) => this.#expire(w.msg, need));
    this.#probe.kick();
  }

  #answer(msg: Msg, read: ShardRead): void {
    try {
      if (!this.lease.valid())
        throw new RequestError("SHARD_NOT_OWNED", `shard ${this.shard} moved while this read waited; retry`);
      answerRead(msg, read, this.#counts, this.#ctx);
      this.#ctx.metrics.reads.inc({ outcome: "ok" });
    } catch (err) {
      this.#fail(msg, err);
    }
  }

  #fail(msg: Msg, err: unknown): void {
    const code = err instanceof TallyError ? err.code : "INTERNAL";
    if (code === "INTERNAL") this.#ctx.log.error({ err, shard: this.shard }, "read failed");
    this.#ctx.metrics.reads.inc({ outcome: code });
    respondError(msg, err);
  }

  #expire(msg: Msg, need: number): void {
    const p = this.#progress;
    const text =
      need === this.#readyTarget
        ? `shard ${this.shard} is still replaying the stream (at ${p.processedSeq} of ${need}); retry`
        : `shard ${this.shard} has not reached sequence ${need} within ${this.#ctx.readWaitMs} ms (at ${p.confirmedSeq})`;
    this.#fail(msg, new RequestError("TIMEOUT", text));
  }

  #releaseWaiters(): void {
    const done = this.#progress.confirmedSeq;
    if (done >= this.#readyTarget) this.#readyTarget = 0;
    this.#waiters.release(done, (w) => this.#answer(w.msg, w.read));
  }

  /** Writes changed counts and the confirmed sequence to LevelDB in one batch. */
  snapshot(): Promise<void> {
    return this.#persistence.snapshot(this.#progress.confirmedSeq);
  }

  /** Writes the whole state to the shared checkpoint, if the lease is held and it changed. */
  checkpoint(): Promise<void> {
    return this.#persistence.checkpoint(this.#progress.confirmedSeq, this.lease);
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
    this.#waiters.drain((w) =>
      this.#fail(w.msg, new RequestError("SHARD_NOT_OWNED", `shard ${this.shard} is moving to another node; retry`)),
    );
    this.#progress.wake();
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
      await this.#stopReads();
      this.#status = "closed";
    }
  }

  /** Unsubscribes, answering the reads already received first; done before the lease is released. */
  async #stopReads(): Promise<void> {
    const sub = this.#sub;
    this.#sub = undefined;
    if (sub && !sub.isClosed()) await sub.drain().catch(() => sub.unsubscribe());
  }
}
