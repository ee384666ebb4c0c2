import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Logger } from "pino";
import {
  RequestError,
  TallyError,
  parseShardQuery,
  shardQuerySubject,
  shardReadFilter,
  type ShardCounts,
  type ShardQuery,
} from "@tally/core";
import type { NodeMetrics } from "../http/metrics.js";
import type { Lease } from "../cluster/leases.js";
import { respondError } from "../nats/replies.js";
import { CatchUpProbe } from "./catch-up-probe.js";
import type { LogGapView } from "./log-gap-marks.js";
import { answerRead, parseShardRead, type ReadSettings, type ShardRead } from "./read-server.js";
import { SequenceWaiters } from "./sequence-waiters.js";
import { ShardQueryCache, answerShardQuery } from "./shard-query.js";
import type { ShardProgress } from "./shard-progress.js";

/** What serving a shard's reads needs from the node. */
export interface ShardReadsContext extends ReadSettings {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  readonly readWaitMs: number;
  /** Most reads waiting for a sequence at once; one more is refused with `TOO_MANY_WAITING`. */
  readonly maxWaitingReads: number;
  /** The node's clock (epoch ms): what buckets expire by. */
  readonly now: () => number;
  /** Shards marked with a log gap: every success reply of one says so. */
  readonly logGaps: LogGapView;
}

/** What serving reads needs from the shard's actor. */
export interface ShardReadsHooks {
  /** Why reads cannot be answered now (shard starting or stopping), or undefined when they can. */
  notServing(): string | undefined;
  /** True while the shard consumes its own events (the catch-up probe runs only then). */
  consuming(): boolean;
  /** The consumer delivers nothing while events wait: recreate it. */
  consumerStalled(): void;
}

/** A read of one counter, or a namespace query gathered by some node. */
type AnyRead = ShardRead | ShardQuery;

/**
 * Read serving for one shard: the subscriptions on `tally.rd.<shard>.>` (counter reads)
 * and `tally.ns.<shard>` (namespace queries a node gathers), fencing (a
 * lapsed lease answers nothing), parsing, and reads that wait for a sequence (`minSeq`,
 * or the start-up replay) in {@link SequenceWaiters}, helped along by the
 * {@link CatchUpProbe}. Each read is answered exactly once: a value, an error, or a
 * retryable refusal when the shard moves.
 */
export class ShardReads {
  readonly #shard: number;
  readonly #ctx: ShardReadsContext;
  readonly #lease: Lease;
  readonly #counts: ShardCounts;
  readonly #progress: ShardProgress;
  readonly #hooks: ShardReadsHooks;
  readonly #waiters = new SequenceWaiters<{ msg: Msg; read: AnyRead }>();
  readonly #probe: CatchUpProbe;
  readonly #queryCache = new ShardQueryCache();
  #subs: Subscription[] = [];
  /** Reads wait for this sequence until the shard has caught up after it was taken (0 once it has). */
  #readyTarget = 0;

  constructor(
    shard: number,
    ctx: ShardReadsContext,
    lease: Lease,
    counts: ShardCounts,
    progress: ShardProgress,
    hooks: ShardReadsHooks,
  ) {
    this.#shard = shard;
    this.#ctx = ctx;
    this.#lease = lease;
    this.#counts = counts;
    this.#progress = progress;
    this.#hooks = hooks;
    this.#probe = new CatchUpProbe(shard, ctx.nc, ctx.jsm, progress, ctx.log, {
      minNeed: () => this.#waiters.minNeed(),
      running: () => hooks.consuming(),
      caughtUp: () => this.release(),
      stalled: () => hooks.consumerStalled(),
      gap: (confirmed, first) => ctx.logGaps.check(shard, confirmed, first, "probe"),
    });
  }

  /** True once the shard has caught up with the stream as it was when it was taken. */
  get caughtUp(): boolean {
    return this.#progress.confirmedSeq >= this.#readyTarget;
  }

  /** Starts taking reads; until the shard reaches `readyTarget` they wait. */
  open(readyTarget: number): void {
    this.#readyTarget = readyTarget;
    const nc = this.#ctx.nc;
    const settings = this.#ctx;
    this.#subs = [
      nc.subscribe(shardReadFilter(this.#shard), {
        callback: (_err, msg) => this.handle(msg, (m) => parseShardRead(m, this.#shard, settings)),
      }),
      nc.subscribe(shardQuerySubject(this.#shard), {
        callback: (_err, msg) => this.handle(msg, (m) => parseShardQuery(m.data)),
      }),
    ];
  }

  /** Answers every waiting read whose sequence is now reflected (cheap when none waits). */
  release(): void {
    const done = this.#progress.confirmedSeq;
    if (done >= this.#readyTarget) this.#readyTarget = 0;
    if (this.#waiters.size > 0) this.#waiters.release(done, (w) => this.#answer(w.msg, w.read));
  }

  /** The shard started consuming: answer what can be, and probe for the rest. */
  consuming(): void {
    this.release();
    if (this.#waiters.size > 0) this.#probe.kick();
  }

  /** Answers one read or query; never throws, always replies (unless there is no reply subject). */
  handle(msg: Msg, parse: (msg: Msg) => AnyRead): void {
    if (!msg.reply) return;
    if (!this.#lease.valid()) {
      // Fenced: the lease may be someone else's now, and they answer this read.
      // Stop taking reads at once (the node drops the shard on its next round).
      this.#ctx.metrics.reads.inc({ outcome: "fenced" });
      this.unsubscribe();
      // Without its read subscription the shard must not be kept, even if a renewal on
      // its way extends the lease: mark it lost, so the node drops it on its next round.
      this.#lease.lose();
      return;
    }
    let read: AnyRead;
    try {
      const why = this.#hooks.notServing();
      if (why !== undefined) throw new RequestError("NOT_READY", `shard ${this.#shard} is not serving (${why})`);
      read = parse(msg);
    } catch (err) {
      this.#fail(msg, err);
      return;
    }
    const need = Math.max(("req" in read ? read.req.minSeq : read.minSeq) ?? 0, this.#readyTarget);
    if (need <= this.#progress.confirmedSeq) {
      this.#answer(msg, read);
      return;
    }
    if (this.#waiters.size >= this.#ctx.maxWaitingReads) {
      // Each waiter holds a timer and its request until answered: bounded, so a burst of
      // reads far ahead of the shard cannot grow the node's memory without limit.
      this.#fail(msg, tooManyWaiting(this.#shard, this.#ctx.maxWaitingReads, need, this.#progress.confirmedSeq));
      return;
    }
    this.#waiters.add(need, { msg, read }, this.#ctx.readWaitMs, (w) => this.#expire(w.msg, need, w.read));
    this.#probe.kick();
  }

  /** Proves an idle shard caught up with the stream's last sequence (see {@link CatchUpProbe.confirmIdle}). */
  confirmIdle(): Promise<void> {
    return this.#probe.confirmIdle();
  }

  /** The shard stops: every waiting read gets a retryable `SHARD_NOT_OWNED`. */
  refuseWaiting(): void {
    this.#waiters.drain((w) =>
      this.#fail(w.msg, new RequestError("SHARD_NOT_OWNED", `shard ${this.#shard} is moving to another node; retry`)),
    );
  }

  /** Stops taking reads at once, without answering those on their way (the lease is gone). */
  unsubscribe(): void {
    for (const sub of this.#subs) sub.unsubscribe();
    this.#subs = [];
  }

  /** Unsubscribes, answering the reads already received first; done before the lease is released. */
  async close(): Promise<void> {
    const subs = this.#subs;
    this.#subs = [];
    await Promise.all(subs.map((sub) => (sub.isClosed() ? undefined : sub.drain().catch(() => sub.unsubscribe()))));
  }

  #answer(msg: Msg, read: AnyRead): void {
    try {
      if (!this.#lease.valid())
        throw new RequestError("SHARD_NOT_OWNED", `shard ${this.#shard} moved while this read waited; retry`);
      const annotation = this.#ctx.logGaps.annotation(this.#shard);
      if ("req" in read) answerRead(msg, read, this.#counts, this.#ctx, this.#ctx.now(), annotation);
      else answerShardQuery(msg, read, this.#counts, this.#queryCache, annotation);
      this.#ctx.metrics.reads.inc({ outcome: "ok" });
    } catch (err) {
      this.#fail(msg, err);
    } finally {
      this.#timed(read);
    }
  }

  #fail(msg: Msg, err: unknown): void {
    const code = err instanceof TallyError ? err.code : "INTERNAL";
    if (code === "INTERNAL") this.#ctx.log.error({ err, shard: this.#shard }, "read failed");
    this.#ctx.metrics.reads.inc({ outcome: code });
    respondError(msg, err);
  }

  /** Observes a counter read's time from arrival to answer (namespace queries are timed where gathered). */
  #timed(read: AnyRead): void {
    if ("req" in read)
      this.#ctx.metrics.readSeconds.observe(
        { kind: read.req.kind === "series" ? "series" : "get" },
        (performance.now() - read.receivedAt) / 1000,
      );
  }

  #expire(msg: Msg, need: number, read: AnyRead): void {
    this.#timed(read);
    const p = this.#progress;
    const text =
      need === this.#readyTarget
        ? `shard ${this.#shard} is still replaying the stream (at ${p.processedSeq} of ${need}); retry`
        : `shard ${this.#shard} has not reached sequence ${need} within ${this.#ctx.readWaitMs} ms (at ${p.confirmedSeq})`;
    this.#fail(msg, new RequestError("TIMEOUT", text));
  }
}

/** `TOO_MANY_WAITING` (retryable) for a read that would be one more than `limit` waiting on `shard`. */
export function tooManyWaiting(shard: number, limit: number, need: number, at: number): RequestError {
  return new RequestError(
    "TOO_MANY_WAITING",
    `shard ${shard} already has ${limit} reads waiting for it to catch up, its limit (--max-waiting-reads); ` +
      `this one needs sequence ${need}, the shard is at ${at}: retry`,
  );
}
