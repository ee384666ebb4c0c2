import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { ClusterConfig } from "./admin/cluster-config.js";
import type { ChangeSignal } from "./cluster/change-signal.js";
import type { ClusterSettings } from "./cluster/cluster-settings.js";
import type { LeaseTable } from "./cluster/leases.js";
import type { Membership } from "./cluster/membership.js";
import { refusingMembers, type MemoryGuard } from "./cluster/memory-guard.js";
import type { OwnedShards } from "./cluster/owned-shards.js";
import { ShardPlanner } from "./cluster/shard-planner.js";
import { startShardUpkeep } from "./cluster/shard-upkeep.js";
import { NamespaceGatherer } from "./gather/namespace-gatherer.js";
import { Dashboard } from "./http/dashboard/dashboard.js";
import type { HttpEndpoint } from "./http/http-endpoint.js";
import { nodeRoutes } from "./http/node-routes.js";
import type { NodeMetrics, ShardStats } from "./http/metrics.js";
import { answerBadReadSubjects } from "./nats/bad-read-subjects.js";
import type { ResolvedNodeOptions } from "./options.js";
import type { LogGapMarks } from "./shard/log-gap-marks.js";
import { ShardActor, type ShardActorContext } from "./shard/shard-actor.js";
import type { Checkpoints } from "./storage/checkpoints.js";
import type { SnapshotStore } from "./storage/snapshot-store.js";

/**
 * Lifecycle of a node:
 * - `starting`: connecting, checking the cluster settings and mappings, opening its parts;
 * - `joining`: a member now, in its first planning round: taking its shards and
 *   replaying them (it reports ready at the end of it);
 * - `running`: serving; planning rounds follow membership and lease changes;
 * - `closing`: stopping: every shard handed off, then the parts closed;
 * - `closed`: final.
 */
export type NodeStatus = "starting" | "joining" | "running" | "closing" | "closed";

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
  /** Graceful stop: hand every shard off (final snapshot, checkpoint, lease released), close; idempotent. */
  close(): Promise<void>;
  /** Resolves when the node has closed, by `close()` or because its connection ended. */
  closed(): Promise<void>;
}

/** The parts a node is wired from; each is opened before the node exists. */
export interface NodeParts {
  readonly opts: ResolvedNodeOptions;
  readonly log: Logger;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly store: SnapshotStore;
  readonly config: ClusterConfig;
  readonly settings: ClusterSettings;
  readonly logGaps: LogGapMarks;
  readonly checkpoints: Checkpoints;
  readonly metrics: NodeMetrics;
  readonly leases: LeaseTable;
  readonly owned: OwnedShards;
  readonly membership: Membership;
  /** The bound on memory: over it, the node takes no new shards. */
  readonly memory: MemoryGuard;
  readonly http: HttpEndpoint | undefined;
  readonly changes: ChangeSignal;
}

/** A node wired from its opened parts ({@link startNode} opens them and starts it). */
export class Node implements TallyNode {
  readonly id: string;
  #status: NodeStatus = "starting";
  readonly #p: NodeParts;
  readonly #planner: ShardPlanner;
  readonly #subs: Subscription[] = [];
  readonly #gatherer: NamespaceGatherer;
  readonly #dashboard: Dashboard;
  readonly #timers: NodeJS.Timeout[] = [];
  /** Lease renewals run until the last shard is closed, so a stop stays graceful. */
  #renewTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  readonly #closed = deferred();

  constructor(parts: NodeParts) {
    this.#p = parts;
    this.id = parts.opts.id;
    const { opts, log, settings, logGaps } = parts;
    const actorContext: ShardActorContext = {
      shards: parts.config.shards,
      periods: parts.config.periods,
      nc: parts.nc,
      js: parts.js,
      jsm: parts.jsm,
      store: parts.store,
      checkpoints: parts.checkpoints,
      nodeId: this.id,
      metrics: parts.metrics,
      log,
      readWaitMs: opts.readWaitMs,
      maxWaitingReads: opts.maxWaitingReads,
      pullBatch: opts.pullBatch,
      snapshotEvents: opts.snapshotEvents,
      maxSeriesPoints: opts.maxSeriesPoints,
      retention: () => settings.retention(),
      now: opts.clock,
      logGaps,
    };
    this.#planner = new ShardPlanner({
      id: this.id,
      shards: parts.config.shards,
      minMembers: opts.minMembers,
      maxMovingFraction: opts.maxMovingFraction,
      membership: parts.membership,
      leases: parts.leases,
      owned: parts.owned,
      metrics: parts.metrics,
      log,
      activation: { js: parts.js, jsm: parts.jsm, log, logGaps },
      refusing: (live) => refusingMembers(live, this.id, parts.memory, (id) => parts.membership.info(id)),
      createActor: (shard, lease) => new ShardActor(shard, actorContext, lease),
      live: () => this.#status === "joining" || this.#status === "running",
    });
    this.#gatherer = new NamespaceGatherer({
      nc: parts.nc,
      shards: parts.config.shards,
      periods: parts.config.periods,
      retention: () => settings.retention(),
      now: opts.clock,
      gatherTimeoutMs: opts.gatherTimeoutMs,
      metrics: parts.metrics,
      log,
    });
    parts.changes.listen(() => this.#planner.schedule());
    const { memberTimeoutMs, maxSeriesPoints } = opts;
    this.#dashboard = new Dashboard({ nodeId: this.id, nc: parts.nc, memberTimeoutMs, maxSeriesPoints });
    parts.http?.serve({
      ...this.#dashboard.routes(),
      ...nodeRoutes({
        metrics: parts.metrics,
        alive: () => ({ ok: this.#status !== "closed", body: { status: this.#status } }),
        ready: () => this.#readiness(),
        status: () => ({
          id: this.id,
          status: this.#status,
          config: this.config,
          members: parts.membership.live(),
          eventLoopDelayMs: parts.metrics.eventLoop.sinceStart(),
          memory: parts.memory.status(),
          shards: logGaps.withMarks(this.stats()),
        }),
      }),
    });
  }

  /**
   * Ready (`/readyz`): running, serving at least one shard, and every shard it serves
   * holds its lease, consumes and has caught up. A node with no shards (more nodes than
   * shards) is not ready: it has nothing to serve.
   */
  #readiness(): { ok: boolean; body: unknown } {
    const stats = this.stats();
    const waiting = stats.filter((s) => !s.ready).map((s) => s.shard);
    const reason =
      this.#status !== "running"
        ? `node is ${this.#status}`
        : stats.length === 0
          ? "serves no shards"
          : waiting.length > 0
            ? `${waiting.length} shard(s) not caught up or without a valid lease`
            : undefined;
    return {
      ok: reason === undefined,
      body: { status: this.#status, shards: stats.length, ...(reason ? { reason, waiting } : {}) },
    };
  }

  /** The cluster settings as `tally init` last wrote them (followed while running). */
  get config(): ClusterConfig {
    return this.#p.settings.config;
  }

  get status(): NodeStatus {
    return this.#status;
  }

  get httpPort(): number | undefined {
    return this.#p.http?.port;
  }

  async start(): Promise<void> {
    const { nc, opts, owned, leases, log } = this.#p;
    this.#subs.push(...answerBadReadSubjects(nc));
    this.#gatherer.start();
    this.#timers.push(...startShardUpkeep(owned, this.#p.checkpoints, log, opts));
    this.#renewTimer = setInterval(() => owned.renewAll(), leases.renewEveryMs);
    this.#timers.push(setInterval(() => this.#planner.schedule(), Math.min(500, opts.heartbeatMs)));
    this.#status = "joining";
    // The first round: what this node takes now is replayed before it reports ready.
    await this.#planner.tick();
    if (this.#status !== "joining") return;
    void nc.closed().then((err) => {
      if (this.#status === "running") {
        log.error({ err }, "NATS connection closed; stopping node");
        this.close().catch((e: unknown) => log.error({ err: e }, "close failed"));
      }
    });
    this.#status = "running";
    log.info(
      {
        shards: this.config.shards,
        serving: owned.size,
        members: this.#p.membership.live(),
        periods: this.config.periods,
        dataDir: opts.dataDir,
        httpPort: this.httpPort,
      },
      "node ready",
    );
  }

  stats(): ShardStats[] {
    return this.#p.owned.stats();
  }

  async snapshot(): Promise<void> {
    await Promise.all(this.#p.owned.all().map((a) => a.snapshot()));
  }

  async checkpoint(): Promise<void> {
    await Promise.all(this.#p.owned.all().map((a) => a.checkpoint()));
  }

  closed(): Promise<void> {
    return this.#closed.promise;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /**
   * Stops in an order that never closes a part under work still using it: no new
   * rounds; replays in flight are stopped and every shard is handed off at once (a
   * replaying shard then skips the rest of its replay, so no activation can hold the
   * stop up); the round and activations in flight, and every hand-off or drop already
   * running, are awaited; leases are renewed until then; only then are membership,
   * leases, HTTP, LevelDB and the connection closed.
   */
  async #close(): Promise<void> {
    const { nc, log, owned, membership, leases, http, store, settings } = this.#p;
    this.#status = "closing";
    for (const t of this.#timers) clearInterval(t);
    for (const s of this.#subs) s.unsubscribe();
    this.#gatherer.stop();
    try {
      this.#planner.stopReplays();
      const actors = owned.all();
      const closing = owned.closeAll();
      await this.#planner.settle();
      const failed = await closing;
      if (failed.length > 0)
        log.error({ err: failed[0], failed: failed.length }, "final snapshot failed for some shards");
      else log.info({ shards: actors.map((a) => [a.shard, a.stats().snapshotSeq]) }, "final snapshot written");
    } finally {
      clearInterval(this.#renewTimer);
      this.#p.memory.stop();
      await membership.stop(!nc.isClosed()).catch(() => undefined);
      leases.stop();
      settings.stop();
      this.#p.metrics.eventLoop.stop();
      this.#dashboard.close();
      await http?.close();
      await store.close();
      if (!nc.isClosed()) await nc.drain().catch(() => undefined);
      this.#status = "closed";
      this.#closed.resolve();
    }
  }
}

/** A promise with its resolve function (Node 20 has no `Promise.withResolvers`). */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
