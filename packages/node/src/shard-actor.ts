import { headers, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import {
  DeliverPolicy,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import type { Logger } from "pino";
import {
  bucketIndex,
  bucketIso,
  bucketKey,
  decodeEvent,
  dlqSubject,
  EventError,
  MAX_EVENT_BYTES,
  isReservedNamespace,
  parseReadRequest,
  parseStoredEventSubject,
  parseStoredReadSubject,
  RequestError,
  seriesIndices,
  shardEventFilter,
  shardOf,
  shardReadFilter,
  TallyError,
  ShardCounts,
  type CountEntry,
  type Period,
  type ReadRequest,
} from "@tally/core";
import { DLQ_STREAM, DlqHeader, EVENTS_STREAM } from "./names.js";
import { headerValue, respondError, respondJson } from "./nats/replies.js";
import type { NodeMetrics, ShardStats } from "./http/metrics.js";
import type { SnapshotStore } from "./storage/snapshot-store.js";
import type { ResolvedNodeOptions } from "./options.js";
import type { Checkpoints } from "./storage/checkpoints.js";
import type { Lease } from "./cluster/leases.js";
import { nextShardEventSeq } from "./nats/stream-lookup.js";
import { stopOnMissedHeartbeats } from "./nats/consumer-watchdog.js";

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
  readonly options: ResolvedNodeOptions;
}

type ActorStatus = "new" | "replaying" | "running" | "closing" | "closed";

interface Waiter {
  /** Stream sequence the reply must reflect. */
  need: number;
  msg: Msg;
  req: ReadRequest;
  ns: string;
  name: string;
  timer: NodeJS.Timeout;
}

/** Where a restored shard's state came from. */
export type RestoreSource = "local" | "shared" | "empty";

/**
 * One shard while this node holds its lease: the only reader of its consumer, the
 * only writer of its counts and the only answerer of its reads. JavaScript runs
 * one callback at a time, so each step (apply one event, answer one read) is
 * atomic without locks. Every answer first checks the lease (fencing): once it
 * has lapsed the actor stays silent, as another node may own the shard.
 */
export class ShardActor {
  readonly shard: number;
  readonly lease: Lease;
  readonly #ctx: ShardActorContext;
  readonly #counts: ShardCounts;
  #status: ActorStatus = "new";
  #consumer: Consumer | undefined;
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;
  /** Highest stream sequence applied or dead-lettered. */
  #processedSeq = 0;
  /** Every event of this shard with sequence ≤ this is processed (proved by a probe). */
  #caughtUpTo = 0;
  /** Reads wait for this sequence until the shard has caught up after start. */
  #readyTarget = 0;
  #snapshotSeq = 0;
  #sinceSnapshot = 0;
  #snapshotting: Promise<void> | undefined;
  #retryEntries: CountEntry[] = [];
  #applied = 0;
  #waiters: Waiter[] = [];
  #probing = false;
  /** False while the shard's consumer is being reopened. */
  #healthy = true;
  #progress: (() => void)[] = [];
  #sub: Subscription | undefined;
  /** Processed sequence the catch-up probe last saw, and since when (stall detection off the hot path). */
  #stallSeq = -1;
  #stallSince = 0;
  #checkpointSeq = 0;
  #checkpointing: Promise<void> | undefined;
  /** Where the state came from at restore. */
  source: RestoreSource = "empty";

  constructor(shard: number, ctx: ShardActorContext, lease: Lease) {
    this.shard = shard;
    this.lease = lease;
    this.#ctx = ctx;
    this.#counts = new ShardCounts(ctx.periods);
  }

  /**
   * Restores the newer of the local snapshot and the shared checkpoint, then
   * takes reads. Until {@link consume} the shard is replaying: reads wait (as if
   * they asked for `minSeq = streamLastSeq`) instead of seeing old values.
   */
  async restore(streamLastSeq: number): Promise<void> {
    const [local, shared] = await Promise.all([
      this.#ctx.store.loadShard(this.shard),
      this.#ctx.checkpoints.read(this.shard),
    ]);
    if (shared && shared.seq > local.seq) {
      // Loaded as changed, so the next local snapshot rewrites every entry with
      // the new sequence in one batch and the local copy stays one consistent prefix.
      for (const e of shared.entries) this.#counts.load(e, true);
      this.#processedSeq = shared.seq;
      this.#snapshotSeq = local.seq;
      this.source = "shared";
    } else {
      for (const e of local.entries) this.#counts.load(e);
      this.#processedSeq = local.seq;
      this.#snapshotSeq = local.seq;
      this.source = local.seq > 0 ? "local" : "empty";
    }
    this.#checkpointSeq = shared?.seq ?? 0;
    this.#ctx.log.debug(
      { shard: this.shard, localSeq: local.seq, sharedSeq: shared?.seq, sharedBy: shared?.node, source: this.source },
      "shard restored",
    );
    this.#caughtUpTo = this.#processedSeq;
    this.#readyTarget = streamLastSeq;
    this.#status = "replaying";
    this.#sub = this.#ctx.nc.subscribe(shardReadFilter(this.shard), { callback: (_err, msg) => this.handleRead(msg) });
  }

  /** True from restore (reads are taken, and wait while replaying) until close. */
  get takingReads(): boolean {
    return this.#status === "replaying" || this.#status === "running";
  }

  /** Every event of this shard with sequence ≤ this is reflected in its counts. */
  get confirmedSeq(): number {
    return this.#confirmedSeq();
  }

  /**
   * Applies one event from the node's start-up replay (one unfiltered consumer
   * for all shards, much cheaper for the server than one filtered consumer each).
   * Returns a promise only when the event had to be dead-lettered.
   */
  replay(m: JsMsg): Promise<void> | undefined {
    if (this.#status !== "replaying" || m.seq <= this.#confirmedSeq()) return undefined;
    return this.#process(m);
  }

  /**
   * Ends the replay: every event of this shard up to `seq` has been seen. Then
   * consumes the shard's own events from the next sequence and serves reads.
   */
  async consume(replayedTo: number): Promise<void> {
    this.#caughtUpTo = Math.max(this.#caughtUpTo, replayedTo);
    await this.#openConsumer();
    if (this.#status !== "replaying") {
      // closed while starting. stop(), not close(): close() waits for an iteration that never began.
      this.#messages?.stop();
      return;
    }
    this.#status = "running";
    this.#loop = this.#supervise();
    this.#flushWaiters();
    if (this.#waiters.length > 0) this.#kickProbe();
  }

  async #openConsumer(): Promise<void> {
    this.#consumer = await this.#ctx.js.consumers.get(EVENTS_STREAM, {
      filter_subjects: shardEventFilter(this.shard),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.#confirmedSeq() + 1,
    });
    // Short pulls: a server lost under the consumer is noticed (missed heartbeats,
    // every 2.5 s) and the ordered consumer recreated on another within seconds.
    const messages = await this.#consumer.consume({ max_messages: this.#ctx.options.pullBatch, expires: 5000 });
    stopOnMissedHeartbeats(messages, (count) =>
      this.#ctx.log.warn({ shard: this.shard, count }, "shard consumer missed heartbeats; recreating it"),
    );
    this.#messages = messages;
  }

  /** Runs the consumer loop; if the consumer gives up (e.g. a long JetStream outage), reopens it. */
  async #supervise(): Promise<void> {
    for (let attempt = 0; this.#status === "running"; attempt++) {
      await this.#run(this.#messages!);
      if (this.#status !== "running") return;
      this.#healthy = false;
      this.#ctx.log.error({ shard: this.shard, attempt }, "shard consumer stopped; reopening it");
      await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      if (this.#status !== "running") return;
      try {
        await this.#openConsumer();
        this.#healthy = true;
        attempt = -1;
      } catch (err) {
        this.#ctx.log.error({ err, shard: this.shard }, "reopening the shard consumer failed");
      }
    }
  }

  /** Plain figures for metrics and status. */
  stats(): ShardStats {
    return {
      shard: this.shard,
      applied: this.#applied,
      processedSeq: this.#processedSeq,
      snapshotSeq: this.#snapshotSeq,
      ready:
        this.#status === "running" && this.#healthy && this.lease.valid() && this.#confirmedSeq() >= this.#readyTarget,
      entries: this.#counts.entries,
      epoch: this.lease.epoch,
      source: this.source,
    };
  }

  async #run(messages: ConsumerMessages): Promise<void> {
    let n = 0;
    try {
      for await (const m of messages) {
        const pending = this.#process(m);
        if (pending) await pending;
        if (this.#status !== "running") break;
        // Let reads and other shards in: buffered messages would otherwise be
        // drained in one go of microtasks.
        if (++n % 128 === 0) await new Promise((r) => setImmediate(r));
      }
    } catch (err) {
      if (this.#status === "running") this.#ctx.log.error({ err, shard: this.shard }, "shard consumer failed");
    }
  }

  /** Applies (or dead-letters) one event; a promise only for the dead-letter path. */
  #process(m: JsMsg): Promise<void> | undefined {
    try {
      this.#apply(m);
      this.#applied++;
    } catch (err) {
      const e =
        err instanceof TallyError
          ? err
          : new TallyError("INTERNAL", `unexpected error applying event: ${String(err)}`, { cause: err });
      return this.#deadLetter(m, e).then(() => this.#processed(m.seq));
    }
    this.#processed(m.seq);
    return undefined;
  }

  #processed(seq: number): void {
    this.#processedSeq = seq;
    if (++this.#sinceSnapshot >= this.#ctx.options.snapshotEvents) this.snapshot().catch(() => undefined);
    if (this.#waiters.length > 0) this.#flushWaiters();
    if (this.#progress.length > 0) {
      const fns = this.#progress;
      this.#progress = [];
      for (const fn of fns) fn();
    }
  }

  #apply(m: JsMsg): void {
    const key = parseStoredEventSubject(m.subject);
    if (isReservedNamespace(key.ns)) {
      throw new EventError(
        "RESERVED_NAMESPACE",
        `namespace ${key.ns} is reserved (get, top, list and names starting with _)`,
      );
    }
    const owner = shardOf(key.ns, key.name, this.#ctx.shards);
    if (key.shard !== this.shard || owner !== this.shard) {
      throw new EventError(
        "WRONG_SHARD",
        `${key.ns}.${key.name} belongs to shard ${owner}, not ${key.shard}: publish to count.<ns>.<name>, not tally.ev.*`,
      );
    }
    const ev = decodeEvent(m.data);
    const ts = ev.ts ?? storedTimeMs(m);
    this.#counts.apply(key.ns, key.name, ev.delta, ts);
  }

  /** Records an invalid event with its reason; retried until stored, so none is lost. */
  async #deadLetter(m: JsMsg, err: TallyError): Promise<void> {
    const h = headers();
    h.set(DlqHeader.code, err.code);
    h.set(DlqHeader.message, headerValue(err.message));
    h.set(DlqHeader.subject, m.subject);
    h.set(DlqHeader.seq, String(m.seq));
    h.set(DlqHeader.time, new Date(storedTimeMs(m)).toISOString());
    h.set(DlqHeader.bytes, String(m.data.length));
    // Valid bodies are small; a huge invalid one is kept only in part, so the
    // record always fits under the server's max_payload.
    let body = m.data.length > MAX_EVENT_BYTES ? m.data.subarray(0, MAX_EVENT_BYTES) : m.data;
    this.#ctx.metrics.deadLetters.inc({ code: err.code });
    this.#ctx.log.warn(
      { shard: this.shard, seq: m.seq, subject: m.subject, code: err.code, reason: err.message },
      "event dead-lettered",
    );
    for (let attempt = 0; ; attempt++) {
      try {
        // The msg id makes a replay after a crash re-record it once, not twice.
        await this.#ctx.js.publish(dlqSubject(this.shard), body, {
          headers: h,
          msgID: `dlq-${m.seq}`,
          expect: { streamName: DLQ_STREAM },
        });
        return;
      } catch (pubErr) {
        if (this.#status !== "running" && this.#status !== "replaying") throw pubErr;
        // A record the server refuses as such will never fit: keep the reason, drop the body.
        if (pubErr instanceof Error && /max_payload|payload/i.test(pubErr.message) && body.length > 0)
          body = new Uint8Array(0);
        this.#ctx.log.error(
          { err: pubErr, shard: this.shard, seq: m.seq, attempt },
          "dead-letter publish failed; retrying",
        );
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
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
    let ns: string, name: string, req: ReadRequest;
    try {
      if (this.#status !== "running" && this.#status !== "replaying")
        throw new RequestError("NOT_READY", `shard ${this.shard} is not serving (${this.#status})`, {
          retryable: true,
        });
      let shard: number;
      ({ shard, ns, name } = parseStoredReadSubject(msg.subject));
      if (shard !== this.shard || shardOf(ns, name, this.#ctx.shards) !== this.shard) {
        throw new RequestError("BAD_REQUEST", `${ns}.${name} is not on shard ${shard}: read count.get.<ns>.<name>`);
      }
      if (isReservedNamespace(ns)) throw new RequestError("BAD_REQUEST", `namespace ${ns} is reserved`);
      req = parseReadRequest(msg.data, Date.now());
      if (req.period !== "all" && !this.#ctx.periods.includes(req.period)) {
        throw new RequestError(
          "PERIOD_NOT_ENABLED",
          `period ${req.period} is not counted; enabled: ${this.#ctx.periods.join(", ")} (set with tally init --periods)`,
        );
      }
    } catch (err) {
      this.#fail(msg, err);
      return;
    }
    const need = Math.max(req.minSeq ?? 0, this.#readyTarget);
    if (need <= this.#confirmedSeq()) {
      this.#answer(msg, req, ns, name);
      return;
    }
    const timer = setTimeout(() => this.#expire(waiter), this.#ctx.options.readWaitMs);
    const waiter: Waiter = { need, msg, req, ns, name, timer };
    this.#waiters.push(waiter);
    this.#kickProbe();
  }

  #answer(msg: Msg, req: ReadRequest, ns: string, name: string): void {
    try {
      if (!this.lease.valid()) {
        throw new RequestError("SHARD_NOT_OWNED", `shard ${this.shard} moved while this read waited; retry`, {
          retryable: true,
        });
      }
      if (req.kind === "series") {
        if (req.period === "all") throw new RequestError("BAD_REQUEST", "period all has no series");
        const p = req.period;
        const points = seriesIndices(p, req.from, req.to, this.#ctx.options.maxSeriesPoints).map((i) => ({
          bucket: bucketIso(p, i),
          value: this.#counts.bucket(ns, name, bucketKey(p, i)),
        }));
        respondJson(msg, { ns, name, period: p, points });
      } else if (req.period === "all") {
        respondJson(msg, { ns, name, period: "all", value: this.#counts.all(ns, name) });
      } else {
        const i = bucketIndex(req.period, req.at);
        respondJson(msg, {
          ns,
          name,
          period: req.period,
          bucket: bucketIso(req.period, i),
          value: this.#counts.bucket(ns, name, bucketKey(req.period, i)),
        });
      }
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

  #expire(w: Waiter): void {
    const i = this.#waiters.indexOf(w);
    if (i < 0) return;
    this.#waiters.splice(i, 1);
    const msg =
      w.need === this.#readyTarget
        ? `shard ${this.shard} is still replaying the stream (at ${this.#processedSeq} of ${w.need}); retry`
        : `shard ${this.shard} has not reached sequence ${w.need} within ${this.#ctx.options.readWaitMs} ms (at ${this.#confirmedSeq()})`;
    this.#fail(w.msg, new RequestError("TIMEOUT", msg, { retryable: true }));
  }

  #confirmedSeq(): number {
    return Math.max(this.#processedSeq, this.#caughtUpTo);
  }

  #flushWaiters(): void {
    const done = this.#confirmedSeq();
    if (done >= this.#readyTarget) this.#readyTarget = 0;
    const keep: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.need <= done) {
        clearTimeout(w.timer);
        this.#answer(w.msg, w.req, w.ns, w.name);
      } else keep.push(w);
    }
    this.#waiters = keep;
  }

  /**
   * Proves how far this shard is caught up when a read waits for a sequence it
   * has not processed: with L the stream's last sequence, read *first*, and F the
   * first event of this shard after the processed sequence, every event of this
   * shard below min(F, L + 1) is processed. Two cheap requests; the consumer's own
   * info is avoided, as nats-server 2.9 counts its pending messages by scanning.
   */
  #kickProbe(): void {
    if (this.#probing || this.#status !== "running") return;
    this.#probing = true;
    this.#stallSeq = -1; // stall time counts from this probe on, not from an idle spell before it
    this.#probeLoop()
      .catch((err: unknown) => this.#ctx.log.warn({ err, shard: this.shard }, "catch-up probe failed"))
      .finally(() => {
        this.#probing = false;
        if (this.#status === "running" && this.#waiters.length > 0) setTimeout(() => this.#kickProbe(), 50).unref();
      });
  }

  async #probeLoop(): Promise<void> {
    while (this.#status === "running" && this.#waiters.length > 0) {
      const need = this.#waiters.reduce((max, w) => Math.max(max, w.need), 0);
      const last = (await this.#ctx.jsm.streams.info(EVENTS_STREAM)).state.last_seq;
      const from = this.#confirmedSeq() + 1;
      const next = await nextShardEventSeq(this.#ctx.nc, this.shard, from);
      if (this.#processedSeq !== this.#stallSeq) {
        this.#stallSeq = this.#processedSeq;
        this.#stallSince = performance.now();
      }
      if (next !== undefined && performance.now() - this.#stallSince > STALL_MS && this.#messages) {
        // The stream holds events this shard has not seen, and its consumer has
        // delivered nothing for a while: recreate it (the supervisor reopens it).
        this.#ctx.log.warn(
          { shard: this.shard, at: this.#processedSeq, next },
          "shard consumer stalled; recreating it",
        );
        this.#stallSince = performance.now();
        this.#messages.stop();
      }
      const bound = next === undefined ? last : Math.min(last, next - 1);
      if (bound > this.#caughtUpTo) {
        this.#caughtUpTo = bound;
        this.#flushWaiters();
      }
      if (this.#waiters.every((w) => w.need > last)) return; // beyond the stream: they time out
      // Events of this shard ≤ need are still on their way: let the consumer work.
      const seq = this.#processedSeq;
      await this.#until(() => this.#processedSeq > seq && this.#processedSeq >= Math.min(need, next ?? need), 100);
    }
  }

  #until(cond: () => boolean, timeoutMs: number): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        resolve();
      }, timeoutMs);
      const check = () => {
        if (settled) return;
        if (cond() || this.#status !== "running") {
          settled = true;
          clearTimeout(timer);
          resolve();
        } else this.#progress.push(check);
      };
      this.#progress.push(check);
    });
  }

  /** Writes changed counts and the processed sequence to LevelDB in one batch. */
  snapshot(): Promise<void> {
    if (this.#snapshotting) return this.#snapshotting;
    const seq = this.#confirmedSeq();
    if (seq === this.#snapshotSeq && this.#retryEntries.length === 0) return Promise.resolve();
    const entries = this.#retryEntries.concat(this.#counts.takeDirty());
    this.#retryEntries = [];
    this.#sinceSnapshot = 0;
    const end = this.#ctx.metrics.snapshotSeconds.startTimer();
    this.#snapshotting = this.#ctx.store
      .writeShard(this.shard, seq, entries)
      .then(
        () => {
          this.#snapshotSeq = seq;
          end();
        },
        (err: unknown) => {
          // Keep the entries so the next snapshot writes them (later values win).
          this.#retryEntries = entries.concat(this.#retryEntries);
          this.#ctx.log.error({ err, shard: this.shard }, "snapshot write failed");
          throw err;
        },
      )
      .finally(() => {
        this.#snapshotting = undefined;
      });
    return this.#snapshotting;
  }

  /**
   * Writes the shard's whole state to the shared checkpoint, if the lease is still
   * held and something changed since the last one. One write at a time.
   */
  checkpoint(): Promise<void> {
    if (this.#checkpointing) return this.#checkpointing;
    const seq = this.#confirmedSeq();
    if (seq <= this.#checkpointSeq || !this.lease.valid()) return Promise.resolve();
    // Taken synchronously: the counts and the sequence belong together.
    const entries = this.#counts.dump();
    const end = this.#ctx.metrics.checkpointSeconds.startTimer();
    this.#ctx.log.debug({ shard: this.shard, seq }, "checkpoint started");
    this.#checkpointing = this.#ctx.checkpoints
      .write({ shard: this.shard, seq, epoch: this.lease.epoch, node: this.#ctx.nodeId, entries })
      .then(
        () => {
          this.#checkpointSeq = Math.max(this.#checkpointSeq, seq);
          this.#ctx.log.debug({ shard: this.shard, seq, entries: entries.length }, "checkpoint written");
          end();
        },
        (err: unknown) => {
          this.#ctx.log.error({ err, shard: this.shard }, "shared checkpoint write failed");
          throw err;
        },
      )
      .finally(() => (this.#checkpointing = undefined));
    return this.#checkpointing;
  }

  /**
   * Stops serving: no more reads are taken, waiting ones get a retryable
   * `SHARD_NOT_OWNED`, the consumer stops and a final local snapshot is written.
   * With `checkpoint` (a hand-off or a clean stop, lease still held) the shared
   * checkpoint is written too, so the next owner replays almost nothing.
   */
  async close(opts: { checkpoint: boolean } = { checkpoint: true }): Promise<void> {
    if (this.#status === "closed" || this.#status === "closing") return;
    const wasActive = this.#status === "running" || this.#status === "replaying";
    this.#status = "closing";
    // Reads keep arriving until the subscription is drained below; while the lease
    // is held they get a retryable NOT_READY, so none waits out a client timeout.
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      this.#fail(
        w.msg,
        new RequestError("SHARD_NOT_OWNED", `shard ${this.shard} is moving to another node; retry`, {
          retryable: true,
        }),
      );
    }
    this.#waiters = [];
    for (const fn of this.#progress.splice(0)) fn();
    if (wasActive) {
      // stop() ends the loop below (if it runs); close() would wait forever on one never started.
      this.#messages?.stop();
      await this.#loop;
      await this.#snapshotting?.catch(() => undefined);
      await this.#checkpointing?.catch(() => undefined);
      const results = await Promise.allSettled([
        this.snapshot(),
        opts.checkpoint ? this.#finalCheckpoint() : Promise.resolve(),
      ]);
      await this.#stopReads();
      this.#status = "closed";
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
      return;
    }
    await this.#stopReads();
    this.#status = "closed";
  }

  /** Unsubscribes, answering the reads already received first; done before the lease is released. */
  async #stopReads(): Promise<void> {
    const sub = this.#sub;
    this.#sub = undefined;
    if (sub && !sub.isClosed()) await sub.drain().catch(() => sub.unsubscribe());
  }

  #finalCheckpoint(): Promise<void> {
    if (this.#confirmedSeq() <= this.#checkpointSeq) return Promise.resolve();
    if (!this.lease.valid()) {
      this.#ctx.log.warn(
        { shard: this.shard },
        "lease lapsed before the final checkpoint; the next owner replays more",
      );
      return Promise.resolve();
    }
    return this.checkpoint();
  }
}

/** A consumer that delivers nothing this long while its shard has events waiting is recreated. */
const STALL_MS = 5000;

function storedTimeMs(m: JsMsg): number {
  const ns = m.info.timestampNanos as unknown as bigint | number;
  return typeof ns === "bigint" ? Number(ns / 1_000_000n) : Math.floor(ns / 1e6);
}
