import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from "@nats-io/jetstream";
import { pino, type Logger } from "pino";
import { planShards, RequestError, storedEventShard } from "@tally/core";
import { readClusterConfig, type ClusterConfig } from "./admin/cluster-config.js";
import { probeMappings } from "./admin/mapping-probe.js";
import { NodeError } from "./errors.js";
import { createMetrics, type NodeMetrics, type ShardStats } from "./http/metrics.js";
import { EVENTS_STREAM } from "./names.js";
import { resolveNodeOptions, type NodeOptions, type ResolvedNodeOptions } from "./options.js";
import { respondError } from "./nats/replies.js";
import { ShardActor, type ShardActorContext } from "./shard-actor.js";
import { Checkpoints } from "./storage/checkpoints.js";
import { LeaseTable } from "./cluster/leases.js";
import { Membership } from "./cluster/membership.js";
import { stopOnMissedHeartbeats } from "./nats/consumer-watchdog.js";
import { SnapshotStore } from "./storage/snapshot-store.js";

/** Lifecycle of a node. */
export type NodeStatus = "starting" | "replaying" | "running" | "closing" | "closed";

/** A running Tally node. */
export interface TallyNode {
  readonly id: string;
  readonly status: NodeStatus;
  readonly config: ClusterConfig;
  /** Port of the HTTP endpoint, when enabled. */
  readonly httpPort: number | undefined;
  /** Figures of each shard this node serves. */
  stats(): ShardStats[];
  /** Writes a local snapshot of every shard it serves now. */
  snapshot(): Promise<void>;
  /** Writes the shared checkpoint of every shard it serves now. */
  checkpoint(): Promise<void>;
  /** Graceful stop: stop consuming, final snapshot, close; idempotent. */
  close(): Promise<void>;
  /** Resolves when the node has closed, by `close()` or because its connection ended. */
  closed(): Promise<void>;
}

/**
 * Starts a node: checks the cluster settings and the server's mappings, opens
 * the LevelDB snapshot (refusing a dir another process holds), starts one actor
 * per shard and answers reads.
 */
export async function startNode(options: NodeOptions): Promise<TallyNode> {
  const opts = resolveNodeOptions(options);
  const log = opts.logger ?? pino({ level: opts.logLevel, base: { node: opts.id } }, pino.destination(2));
  const store = await SnapshotStore.open(opts.dataDir);
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ name: `tally-node-${opts.id}`, maxReconnectAttempts: -1, ...opts.connection });
    const config = await readClusterConfig(nc);
    await probeMappings(nc, config.shards);
    const jsm = await jetstreamManager(nc);
    const stream = await jsm.streams.info(EVENTS_STREAM).catch((err: unknown) => {
      throw new NodeError("NOT_INITIALIZED", `stream ${EVENTS_STREAM} not found: run \`tally init\``, { cause: err });
    });
    await store.checkIdentity({
      shards: config.shards,
      periods: config.periods.join(","),
      streamCreated: stream.created,
    });
    const node = new Node(opts, log, nc, store, config);
    try {
      await node.start();
    } catch (err) {
      // Stops timers, subscriptions and shards, so a failed start exits instead of hanging.
      await node.close().catch(() => undefined);
      throw err;
    }
    return node;
  } catch (err) {
    await nc?.close().catch(() => undefined);
    await store.close();
    throw err;
  }
}

class Node implements TallyNode {
  readonly id: string;
  readonly config: ClusterConfig;
  #status: NodeStatus = "starting";
  readonly #opts: ResolvedNodeOptions;
  readonly #log: Logger;
  readonly #nc: NatsConnection;
  readonly #store: SnapshotStore;
  readonly #metrics: NodeMetrics;
  /** Shards this node holds a lease for (taking, serving or giving up). */
  readonly #owned = new Map<number, ShardActor>();
  /** Held shards being given up (hand-off) or dropped (lease lost); not taken again until done. */
  readonly #releasing = new Set<number>();
  readonly #subs: Subscription[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #replays = new Set<ConsumerMessages>();
  #ctx!: ShardActorContext;
  #membership: Membership | undefined;
  #leases: LeaseTable | undefined;
  #formed = false;
  #ticking = false;
  #tickAgain = false;
  #tickScheduled = false;
  readonly #renewing = new Set<number>();
  #http: Server | undefined;
  #closing: Promise<void> | undefined;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;

  constructor(opts: ResolvedNodeOptions, log: Logger, nc: NatsConnection, store: SnapshotStore, config: ClusterConfig) {
    this.id = opts.id;
    this.#opts = opts;
    this.#log = log;
    this.#nc = nc;
    this.#store = store;
    this.config = config;
    this.#metrics = createMetrics(() => this.stats());
    this.#closed = new Promise((r) => (this.#resolveClosed = r));
  }

  get status(): NodeStatus {
    return this.#status;
  }

  get httpPort(): number | undefined {
    return (this.#http?.address() as AddressInfo | null)?.port;
  }

  async start(): Promise<void> {
    this.#ctx = {
      shards: this.config.shards,
      periods: this.config.periods,
      nc: this.#nc,
      js: jetstream(this.#nc),
      jsm: await jetstreamManager(this.#nc),
      store: this.#store,
      checkpoints: await Checkpoints.open(this.#nc, this.#log),
      nodeId: this.id,
      metrics: this.#metrics,
      log: this.#log,
      options: this.#opts,
    };
    this.#leases = await LeaseTable.open(this.#nc, this.id, this.config.leaseTtlMs, this.#log, () => this.#schedule());
    if (this.#opts.httpPort !== undefined) await this.#startHttp(this.#opts.httpPort);
    this.#membership = await Membership.start(this.#nc, {
      id: this.id,
      heartbeatMs: this.#opts.heartbeatMs,
      timeoutMs: this.#opts.memberTimeoutMs,
      log: this.#log,
      describe: () => ({
        ...(this.httpPort !== undefined ? { httpPort: this.httpPort } : {}),
        // Shards whose reads this node takes (restored; maybe still replaying).
        shards: Object.fromEntries(
          [...this.#owned].filter(([, a]) => a.takingReads).map(([s, a]) => [s, a.confirmedSeq]),
        ),
      }),
      onChange: () => this.#schedule(),
    });
    this.#status = "replaying";
    // Read subjects the server mapping cannot route (wrong token count) still get an answer.
    for (const subject of ["count.get", "count.get.*.*.>"]) {
      this.#subs.push(
        this.#nc.subscribe(subject, {
          queue: "tally-bad-reads",
          callback: (_err, msg) =>
            respondError(
              msg,
              new RequestError("BAD_REQUEST", `bad read subject ${msg.subject}: use count.get.<ns>.<name>`),
            ),
        }),
      );
    }
    const every = (ms: number, fn: () => void) => this.#timers.push(setInterval(fn, ms));
    every(this.#opts.snapshotIntervalMs, () => {
      for (const a of this.#owned.values()) a.snapshot().catch(() => undefined);
    });
    every(this.#opts.checkpointIntervalMs, () => {
      for (const [s, a] of this.#owned) if (!this.#releasing.has(s)) a.checkpoint().catch(() => undefined);
    });
    every(this.#leases.renewEveryMs, () => this.#renewAll());
    every(Math.min(500, this.#opts.heartbeatMs), () => this.#schedule());
    // The first round: what this node takes now is replayed before it reports ready.
    await this.#tick();
    if (this.#status !== "replaying") return;
    void this.#nc.closed().then((err) => {
      if (this.#status === "running") {
        this.#log.error({ err }, "NATS connection closed; stopping node");
        this.close().catch((e: unknown) => this.#log.error({ err: e }, "close failed"));
      }
    });
    this.#status = "running";
    this.#log.info(
      {
        shards: this.config.shards,
        serving: this.#owned.size,
        members: this.#membership.live(),
        periods: this.config.periods,
        dataDir: this.#opts.dataDir,
        httpPort: this.httpPort,
      },
      "node ready",
    );
  }

  /** Runs a planning round soon (once, however many changes arrive meanwhile). */
  #schedule(): void {
    if (this.#tickScheduled || this.#status === "closing" || this.#status === "closed") return;
    this.#tickScheduled = true;
    setImmediate(() => {
      this.#tickScheduled = false;
      this.#tick().catch((err: unknown) => this.#log.error({ err }, "planning round failed"));
    });
  }

  /**
   * One planning round: drops shards whose lease lapsed, then takes the free
   * shards this node should own and hands off (throttled) those it should not.
   * Resolves when what it took has been restored and replayed.
   */
  async #tick(): Promise<void> {
    if (this.#ticking) {
      this.#tickAgain = true;
      return;
    }
    this.#ticking = true;
    let activation: Promise<void> | undefined;
    try {
      do {
        this.#tickAgain = false;
        if (this.#status !== "replaying" && this.#status !== "running") return;
        const batch = await this.#round();
        if (batch.length > 0) {
          const a = this.#activate(batch);
          activation = activation ? Promise.all([activation, a]).then(() => undefined) : a;
        }
      } while (this.#tickAgain);
    } finally {
      this.#ticking = false;
    }
    await activation;
  }

  async #round(): Promise<ShardActor[]> {
    const membership = this.#membership!;
    const leases = this.#leases!;
    membership.checkLiveness();
    for (const [s, a] of this.#owned) {
      if (!this.#releasing.has(s) && !a.lease.valid()) this.#drop(s, "lease lapsed before it could be renewed");
    }
    const live = membership.live();
    const liveSet = new Set(live);
    const holders = Array.from({ length: this.config.shards }, (_, s) => {
      if (this.#owned.has(s)) return this.id;
      const h = leases.holder(s)?.owner;
      // Our own id on a lease we do not hold is a previous run's: it expires by itself.
      return h !== undefined && h !== this.id && liveSet.has(h) ? h : undefined;
    });
    const plan = planShards({
      shards: this.config.shards,
      self: this.id,
      live,
      holders,
      releasing: [...this.#releasing],
      maxMoving: Math.max(1, Math.floor(this.#opts.maxMovingFraction * this.config.shards)),
      minMembers: this.#opts.minMembers,
      formed: this.#formed,
    });
    if (plan.formed && !this.#formed) {
      this.#formed = true;
      if (this.#opts.minMembers > 1) this.#log.info({ live }, "cluster formed");
    }
    for (const s of plan.release) this.#handOff(s);
    const batch: ShardActor[] = [];
    await Promise.all(
      plan.acquire.map(async (s) => {
        try {
          const lease = await leases.acquire(s);
          if (!lease) return;
          if (this.#status !== "replaying" && this.#status !== "running") {
            await leases.release(lease);
            return;
          }
          const actor = new ShardActor(s, this.#ctx, lease);
          this.#owned.set(s, actor);
          batch.push(actor);
        } catch (err) {
          this.#log.warn({ err, shard: s }, "taking a shard lease failed; will retry");
        }
      }),
    );
    return batch.sort((a, b) => a.shard - b.shard);
  }

  /** Restores newly taken shards, replays them together, then starts their consumers. */
  async #activate(batch: ShardActor[]): Promise<void> {
    const started = performance.now();
    try {
      const last = (await this.#ctx.jsm.streams.info(EVENTS_STREAM)).state.last_seq;
      const phase = (what: string) =>
        this.#log.debug({ shards: batch.map((x) => x.shard), ms: Math.round(performance.now() - started) }, what);
      await Promise.all(batch.map((a) => a.restore(last)));
      phase("restored");
      const active = batch.filter((a) => this.#owned.get(a.shard) === a && !this.#releasing.has(a.shard));
      const events = await this.#replay(active, last);
      phase("replayed");
      await Promise.all(active.map((a) => a.consume(last)));
      this.#metrics.handoffs.inc({ direction: "in" }, active.length);
      const sources = { local: 0, shared: 0, empty: 0 };
      for (const a of active) sources[a.source]++;
      this.#log.info(
        {
          shards: active.map((a) => a.shard),
          epochs: active.map((a) => a.lease.epoch),
          restoredFrom: sources,
          replayedEvents: events,
          ms: Math.round(performance.now() - started),
        },
        "shards taken",
      );
    } catch (err) {
      if (this.#status === "closing" || this.#status === "closed") return;
      this.#log.error({ err, shards: batch.map((a) => a.shard) }, "taking shards failed; giving them back");
      for (const a of batch) if (this.#owned.get(a.shard) === a) this.#drop(a.shard, "restore failed", true);
    }
  }

  /**
   * Replays the stream from the oldest restored sequence of `actors` up to `to`
   * through one unfiltered ordered consumer, handing each event to its shard: for
   * the server one sequential read instead of one filtered scan per shard.
   */
  async #replay(actors: ShardActor[], to: number): Promise<number> {
    if (actors.length === 0) return 0;
    const byShard = new Map(actors.map((a) => [a.shard, a]));
    const from = Math.min(...actors.map((a) => a.confirmedSeq)) + 1;
    if (from > to) return 0;
    // No filter at all (the stream holds only tally.ev.* subjects): nats-server 2.9
    // recounts a filtered consumer's pending messages by scanning as the stream grows,
    // which made a replay under live load slow down more and more.
    const consumer = await this.#ctx.js.consumers.get(EVENTS_STREAM, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    });
    if ((await consumer.info(true)).num_pending === 0) return 0;
    const messages = await consumer.consume({ max_messages: 1024, expires: 5000 });
    stopOnMissedHeartbeats(messages, (count) => this.#log.warn({ count }, "replay consumer missed heartbeats"));
    this.#log.debug({ shards: [...byShard.keys()], from, to }, "replay started");
    this.#replays.add(messages);
    let n = 0;
    let reached = from - 1;
    const live = () => this.#status === "replaying" || this.#status === "running";
    try {
      for await (const m of messages) {
        n++;
        reached = m.seq;
        const shard = storedEventShard(m.subject);
        const actor = shard === undefined ? undefined : byShard.get(shard);
        const pending = actor?.replay(m);
        if (pending) await pending;
        if (m.seq >= to || m.info.pending === 0 || !live()) {
          reached = to; // pending 0: nothing of the stream up to `to` is left
          break;
        }
        if (n % 1024 === 0) {
          this.#log.debug({ shards: [...byShard.keys()], at: m.seq, to, pending: m.info.pending }, "replay progress");
          await new Promise((r) => setImmediate(r));
        }
      }
    } finally {
      this.#replays.delete(messages);
      messages.stop(); // close() would wait for an iteration that has ended
    }
    if (reached < to && live()) {
      throw new NodeError("REPLAY_FAILED", `replay stopped at sequence ${reached} of ${to} (connection lost?)`);
    }
    return n;
  }

  /** Renews every held lease (one renewal in flight per shard); a lost one is dropped at once. */
  #renewAll(): void {
    const leases = this.#leases!;
    for (const [s, a] of this.#owned) {
      if (this.#releasing.has(s) || this.#renewing.has(s)) continue;
      this.#renewing.add(s);
      leases
        .renew(a.lease)
        .then((r) => {
          if (r === "lost" && this.#owned.get(s) === a && !this.#releasing.has(s)) this.#drop(s, "lease lost");
        })
        .catch((err: unknown) => this.#log.warn({ err, shard: s }, "lease renewal failed"))
        .finally(() => this.#renewing.delete(s));
    }
  }

  /** Graceful hand-off: stop, snapshot, checkpoint, then release the lease for the next owner. */
  #handOff(s: number): void {
    const actor = this.#owned.get(s);
    if (!actor || this.#releasing.has(s)) return;
    this.#releasing.add(s);
    const started = performance.now();
    void actor
      .close({ checkpoint: true })
      .catch((err: unknown) => this.#log.error({ err, shard: s }, "hand-off: final snapshot or checkpoint failed"))
      .then(() => this.#leases!.release(actor.lease))
      .then(() => {
        this.#metrics.handoffs.inc({ direction: "out" });
        this.#log.info(
          { shard: s, epoch: actor.lease.epoch, ms: Math.round(performance.now() - started) },
          "shard handed off",
        );
      })
      .finally(() => {
        this.#owned.delete(s);
        this.#releasing.delete(s);
        this.#schedule();
      });
  }

  /**
   * Stops serving a shard at once, without a checkpoint (its lease is gone or
   * going; another node may own it). With `release` the lease is given back.
   */
  #drop(s: number, why: string, release = false): void {
    const actor = this.#owned.get(s);
    if (!actor || this.#releasing.has(s)) return;
    this.#releasing.add(s);
    if (!release) {
      actor.lease.lose();
      this.#metrics.leasesLost.inc();
      this.#log.warn({ shard: s, epoch: actor.lease.epoch }, `stopped serving shard: ${why}`);
    }
    void actor
      .close({ checkpoint: false })
      .catch((err: unknown) => this.#log.error({ err, shard: s }, "closing a dropped shard failed"))
      .then(() => (release ? this.#leases!.release(actor.lease) : undefined))
      .finally(() => {
        this.#owned.delete(s);
        this.#releasing.delete(s);
        this.#schedule();
      });
  }

  async #startHttp(port: number): Promise<void> {
    const server = createServer((req, res) => {
      const send = (code: number, type: string, body: string) => {
        res.writeHead(code, { "content-type": type });
        res.end(body);
      };
      if (req.url === "/metrics") {
        this.#metrics.registry.metrics().then(
          (text) => send(200, this.#metrics.registry.contentType, text),
          (err: unknown) => send(500, "text/plain", String(err)),
        );
      } else if (req.url === "/healthz") {
        const ok = this.#status === "running" && this.stats().every((s) => s.ready);
        send(ok ? 200 : 503, "application/json", JSON.stringify({ status: this.#status }));
      } else if (req.url === "/status") {
        send(
          200,
          "application/json",
          JSON.stringify({
            id: this.id,
            status: this.#status,
            config: this.config,
            members: this.#membership?.live() ?? [],
            shards: this.stats(),
          }),
        );
      } else send(404, "text/plain", "not found: try /metrics, /healthz or /status\n");
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
    this.#http = server;
  }

  stats(): ShardStats[] {
    return [...this.#owned.values()].map((a) => a.stats()).sort((a, b) => a.shard - b.shard);
  }

  async snapshot(): Promise<void> {
    await Promise.all([...this.#owned.values()].map((a) => a.snapshot()));
  }

  async checkpoint(): Promise<void> {
    await Promise.all([...this.#owned.values()].map((a) => a.checkpoint()));
  }

  closed(): Promise<void> {
    return this.#closed;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#status = "closing";
    for (const t of this.#timers) clearInterval(t);
    for (const s of this.#subs) s.unsubscribe();
    for (const m of this.#replays) m.stop();
    try {
      // Every shard is handed off (snapshot, checkpoint, lease released) even if another's fails.
      const owned = [...this.#owned.values()];
      const results = await Promise.allSettled(
        owned.map(async (a) => {
          try {
            await a.close({ checkpoint: true });
          } finally {
            if (this.#leases && a.lease.valid()) await this.#leases.release(a.lease);
          }
        }),
      );
      const failed = results.filter((r) => r.status === "rejected");
      if (failed.length > 0) {
        this.#log.error({ err: failed[0]!.reason, failed: failed.length }, "final snapshot failed for some shards");
      } else {
        this.#log.info({ shards: owned.map((a) => [a.shard, a.stats().snapshotSeq]) }, "final snapshot written");
      }
    } finally {
      await this.#membership?.stop(!this.#nc.isClosed()).catch(() => undefined);
      this.#leases?.stop();
      this.#owned.clear();
      await new Promise<void>((r) => (this.#http ? this.#http.close(() => r()) : r()));
      await this.#store.close();
      if (!this.#nc.isClosed()) await this.#nc.drain().catch(() => undefined);
      this.#status = "closed";
      this.#resolveClosed();
    }
  }
}

