/**
 * Opening a node's parts in order (store, connection, cluster config and mappings,
 * checkpoints, leases, metrics, HTTP, membership), closing what was opened if a later
 * step fails, then wiring and starting the {@link Node}.
 */
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { pino } from "pino";
import { readClusterConfig } from "./admin/cluster-config.js";
import { checkNodeCheckpointInterval } from "./admin/log-limits.js";
import { probeMappings } from "./admin/mapping-probe.js";
import { ChangeSignal } from "./cluster/change-signal.js";
import { ClusterSettings } from "./cluster/cluster-settings.js";
import { LeaseTable } from "./cluster/leases.js";
import { Membership } from "./cluster/membership.js";
import { MemoryGuard } from "./cluster/memory-guard.js";
import { OwnedShards } from "./cluster/owned-shards.js";
import { NodeError } from "./errors.js";
import { HttpEndpoint } from "./http/http-endpoint.js";
import { createMetrics } from "./http/metrics.js";
import { EVENTS_STREAM } from "./names.js";
import { Node, type TallyNode } from "./node.js";
import { resolveNodeOptions, type NodeOptions } from "./options.js";
import { LogGapMarks } from "./shard/log-gap-marks.js";
import { Checkpoints } from "./storage/checkpoints.js";
import { SnapshotStore } from "./storage/snapshot-store.js";

/**
 * Starts a node: checks the cluster settings and the server's mappings, opens the
 * LevelDB snapshot (refusing a dir another process holds), the checkpoints, leases and
 * membership, then takes its share of the shards and serves their reads.
 */
export async function startNode(options: NodeOptions): Promise<TallyNode> {
  const opts = resolveNodeOptions(options);
  const log = opts.logger ?? pino({ level: opts.logLevel, base: { node: opts.id } }, pino.destination(2));
  const store = await SnapshotStore.open(opts.dataDir);
  // Whatever was opened is closed again, newest first, if a later step fails.
  const opened: (() => Promise<unknown> | void)[] = [() => store.close()];
  try {
    const nc = await connect({ name: `tally-node-${opts.id}`, maxReconnectAttempts: -1, ...opts.connection });
    opened.push(() => nc.close());
    const config = await readClusterConfig(nc);
    await probeMappings(nc, config.shards);
    const jsm = await jetstreamManager(nc);
    const stream = await jsm.streams.info(EVENTS_STREAM).catch((err: unknown) => {
      throw new NodeError("NOT_INITIALIZED", `stream ${EVENTS_STREAM} not found: run \`tally init\``, { cause: err });
    });
    checkNodeCheckpointInterval(opts.checkpointIntervalMs, stream.config.max_age);
    await store.checkIdentity({
      shards: config.shards,
      periods: config.periods.join(","),
      streamCreated: stream.created,
    });
    const logGaps = await LogGapMarks.open(nc, opts.id, log);
    const settings = await ClusterSettings.watch(nc, config, log, (s, r) => logGaps.apply(s, r));
    opened.push(() => settings.stop());
    const checkpoints = await Checkpoints.open(nc, log);
    const changes = new ChangeSignal();
    const leases = await LeaseTable.open(nc, opts.id, config.leaseTtlMs, log, () => changes.notify());
    opened.push(() => leases.stop());
    const metrics = createMetrics(() => owned.stats(), logGaps); // read at scrape time only
    const owned = new OwnedShards(leases, metrics, log, () => changes.notify());
    let beatNow = (): void => undefined; // the membership's, once it exists
    // Sampled before the first heartbeat and planning round, so both already know.
    const memory = new MemoryGuard({
      maxBytes: opts.maxMemoryBytes,
      checkEveryMs: opts.heartbeatMs,
      log,
      onChange: () => {
        changes.notify();
        beatNow(); // the others stop counting on this node at once
      },
    });
    memory.register(metrics.registry);
    const http = opts.httpPort === undefined ? undefined : await HttpEndpoint.listen(opts.httpPort, opts.httpHost);
    if (http) opened.push(() => http.close());
    const membership = await Membership.start(nc, {
      id: opts.id,
      heartbeatMs: opts.heartbeatMs,
      timeoutMs: opts.memberTimeoutMs,
      log,
      // Shards whose reads this node takes (restored; maybe still replaying).
      describe: () => ({
        ...(http ? { httpPort: http.port } : {}),
        shards: owned.describe(),
        checkpointIntervalMs: opts.checkpointIntervalMs, // init checks log limits against it
        ...memory.describe(),
      }),
      onChange: () => changes.notify(),
    });
    opened.push(() => membership.stop(true));
    beatNow = () => membership.beatNow();
    memory.start();
    opened.push(() => memory.stop());
    const js = jetstream(nc);
    const parts = {
      opts,
      log,
      nc,
      js,
      jsm,
      store,
      config,
      settings,
      logGaps,
      checkpoints,
      metrics,
      leases,
      owned,
      membership,
      memory,
      http,
      changes,
    };
    const node = new Node(parts);
    opened.length = 0; // from here on the node closes its parts
    try {
      await node.start();
    } catch (err) {
      // Stops timers, subscriptions and shards, so a failed start exits instead of hanging.
      await node.close().catch(() => undefined);
      throw err;
    }
    return node;
  } catch (err) {
    for (const close of opened.reverse()) await Promise.resolve(close()).catch(() => undefined);
    throw err;
  }
}
