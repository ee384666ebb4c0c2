import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
} from "@nats-io/jetstream";
import { pino, type Logger } from "pino";
import { shardReadFilter } from "@tally/core";
import { probeMappings, readClusterConfig, type ClusterConfig } from "./cluster-setup.js";
import { NodeError } from "./errors.js";
import { createMetrics, type NodeMetrics, type ShardStats } from "./metrics.js";
import { EVENTS_STREAM } from "./names.js";
import { resolveNodeOptions, type NodeOptions, type ResolvedNodeOptions } from "./options.js";
import { respondError } from "./replies.js";
import { ShardActor } from "./shard-actor.js";
import { SnapshotStore } from "./snapshot-store.js";

/** Lifecycle of a node. */
export type NodeStatus = "starting" | "replaying" | "running" | "closing" | "closed";

/** A running Tally node. */
export interface TallyNode {
  readonly id: string;
  readonly status: NodeStatus;
  readonly config: ClusterConfig;
  /** Port of the HTTP endpoint, when enabled. */
  readonly httpPort: number | undefined;
  /** Per-shard figures. */
  stats(): ShardStats[];
  /** Writes a snapshot of every shard now. */
  snapshot(): Promise<void>;
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
      await node.start(stream.state.last_seq);
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
  readonly #actors: ShardActor[] = [];
  readonly #subs: Subscription[] = [];
  #timer: NodeJS.Timeout | undefined;
  #http: Server | undefined;
  #closing: Promise<void> | undefined;
  #replayMessages: ConsumerMessages | undefined;
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

  async start(streamLastSeq: number): Promise<void> {
    const ctx = {
      shards: this.config.shards,
      periods: this.config.periods,
      nc: this.#nc,
      js: jetstream(this.#nc),
      jsm: await jetstreamManager(this.#nc),
      store: this.#store,
      metrics: this.#metrics,
      log: this.#log,
      options: this.#opts,
    };
    for (let s = 0; s < this.config.shards; s++) this.#actors.push(new ShardActor(s, ctx));
    await Promise.all(this.#actors.map((a) => a.load(streamLastSeq)));
    // Reads are taken from now on; until its shard has replayed they wait.
    for (const actor of this.#actors) {
      this.#subs.push(
        this.#nc.subscribe(shardReadFilter(actor.shard), { callback: (_err, msg) => actor.handleRead(msg) }),
      );
    }
    this.#status = "replaying";
    this.#timer = setInterval(() => {
      for (const a of this.#actors) a.snapshot().catch(() => undefined);
    }, this.#opts.snapshotIntervalMs);
    const started = performance.now();
    const replayed = await this.#replay(ctx.js, streamLastSeq);
    if (this.#status !== "replaying") return;
    await Promise.all(this.#actors.map((a) => a.consume(streamLastSeq)));
    this.#log.info({ events: replayed, ms: Math.round(performance.now() - started) }, "replayed the stream");
    // Read subjects the server mapping cannot route (wrong token count) still get an answer.
    for (const subject of ["count.get", "count.get.*.*.>"]) {
      this.#subs.push(
        this.#nc.subscribe(subject, {
          queue: "tally-bad-reads",
          callback: (_err, msg) =>
            respondError(msg, "BAD_REQUEST", `bad read subject ${msg.subject}: use count.get.<ns>.<name>`),
        }),
      );
    }
    await this.#nc.flush();
    if (this.#opts.httpPort !== undefined) await this.#startHttp(this.#opts.httpPort);
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
        periods: this.config.periods,
        dataDir: this.#opts.dataDir,
        httpPort: this.httpPort,
      },
      "node ready",
    );
  }

  /**
   * Replays the stream from the oldest shard snapshot up to `to` through one
   * unfiltered ordered consumer, handing each event to its shard: for the server
   * one sequential read instead of one filtered scan per shard.
   */
  async #replay(js: JetStreamClient, to: number): Promise<number> {
    const from = Math.min(...this.#actors.map((a) => a.confirmedSeq)) + 1;
    if (from > to) return 0;
    const consumer = await js.consumers.get(EVENTS_STREAM, {
      filter_subjects: "tally.ev.>",
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    });
    if ((await consumer.info(true)).num_pending === 0) return 0;
    const messages = await consumer.consume({ max_messages: 1024 });
    this.#replayMessages = messages;
    let n = 0;
    let reached = from - 1;
    try {
      for await (const m of messages) {
        n++;
        reached = m.seq;
        const shard = shardToken(m.subject);
        const actor = shard === undefined ? undefined : this.#actors[shard];
        // A subject outside the shard range reaches no shard consumer; shard 0 dead-letters it.
        const pending = (actor ?? this.#actors[0]!).replay(m);
        if (pending) await pending;
        if (m.seq >= to || m.info.pending === 0 || this.#status !== "replaying") {
          reached = to; // pending 0: nothing of the stream up to `to` is left
          break;
        }
        if (n % 1024 === 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.#replayMessages = undefined;
      await messages.close().catch(() => undefined);
    }
    if (reached < to && this.#status === "replaying") {
      throw new NodeError(
        "REPLAY_FAILED",
        `start-up replay stopped at sequence ${reached} of ${to} (connection lost?)`,
      );
    }
    return n;
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
          JSON.stringify({ id: this.id, status: this.#status, config: this.config, shards: this.stats() }),
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
    return this.#actors.map((a) => a.stats());
  }

  async snapshot(): Promise<void> {
    await Promise.all(this.#actors.map((a) => a.snapshot()));
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
    clearInterval(this.#timer);
    for (const s of this.#subs) s.unsubscribe();
    await this.#replayMessages?.close().catch(() => undefined);
    try {
      // Every shard gets its final snapshot even if another's fails.
      const results = await Promise.allSettled(this.#actors.map((a) => a.close()));
      const failed = results.filter((r) => r.status === "rejected");
      if (failed.length > 0) {
        this.#log.error({ err: failed[0]!.reason, failed: failed.length }, "final snapshot failed for some shards");
      } else {
        this.#log.info({ shards: this.stats().map((s) => [s.shard, s.snapshotSeq]) }, "final snapshot written");
      }
    } finally {
      await new Promise<void>((r) => (this.#http ? this.#http.close(() => r()) : r()));
      await this.#store.close();
      if (!this.#nc.isClosed()) await this.#nc.drain().catch(() => undefined);
      this.#status = "closed";
      this.#resolveClosed();
    }
  }
}

/** The shard token of `tally.ev.<shard>.<ns>.<name>`, if it is a shard number. */
function shardToken(subject: string): number | undefined {
  const a = subject.indexOf(".", 9);
  const n = Number(subject.slice(9, a));
  return a > 9 && Number.isInteger(n) && n >= 0 ? n : undefined;
}
