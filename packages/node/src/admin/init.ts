import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager, type StreamConfig, type StreamInfo } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import {
  assertShardCount,
  DEFAULT_RETENTION,
  DLQ_FILTER,
  formatRetention,
  parseRetention,
  storedEventSubjects,
  TallyError,
  type Period,
  type Retention,
} from "@tally/core";
import { NodeError } from "../errors.js";
import {
  CHECKPOINT_HEADS_BUCKET,
  CHECKPOINTS_BUCKET,
  CLUSTER_KEY,
  CONFIG_BUCKET,
  INIT_DEFAULTS,
  DLQ_STREAM,
  EVENTS_STREAM,
  LEASES_BUCKET,
  MEMBERS_BUCKET,
} from "../names.js";
import { readClusterConfig, type ClusterConfig } from "./cluster-config.js";
import type { LogLimits } from "./log-limits.js";
import { probeMappings } from "./mapping-probe.js";
import { liveCheckpointIntervals } from "./status.js";
import { limitFields, resolveStreamLimits } from "./stream-limits.js";

/** Options of {@link initCluster}. */
export interface InitOptions {
  /** @default 64, or the existing cluster's value */
  shards?: number;
  /** @default 1 */
  replicas?: number;
  /** @default all, hour, day, week, month */
  periods?: Period[];
  /** Lease TTL in ms, from 1000 to 600000. @default 5000, or the existing cluster's value */
  leaseTtlMs?: number;
  /**
   * JetStream de-duplication window for `Nats-Msg-Id`, in ms; at most the log's max age.
   * @default 120000 (shrunk to the log's max age if that is shorter), or the existing value
   */
  dedupWindowMs?: number;
  /**
   * Retention changes, `PERIOD=DURATION,…` (e.g. `minute=48h,hour=90d`; `P=forever` keeps
   * a period forever), applied over the cluster's current retention; nodes follow at once.
   * @default the current retention, or DEFAULT_RETENTION (minute 48h, hour 90d) for a new cluster
   */
  retention?: string;
  /**
   * Longest shared checkpoint interval of the cluster's nodes, in ms: init refuses a log
   * max age under ten of them (and under ten of any live node's).
   * @default 5000 (the node default), or the existing value
   */
  checkpointIntervalMs?: number;
  /** The events stream's max age in ms; null lifts it. @default unlimited, or the existing value */
  logMaxAgeMs?: number | null;
  /** The events stream's max size in bytes (at least 1 MiB); null lifts it. @default unlimited, or the existing value */
  logMaxBytes?: number | null;
  /** How long the dead-letter stream keeps a record, in ms; null is forever. @default 30 days, or the existing value */
  dlqMaxAgeMs?: number | null;
  /** How long to wait for the mapping probe. @default 2000 */
  probeTimeoutMs?: number;
}

/** What {@link initCluster} did. */
export interface InitResult {
  config: ClusterConfig;
  /** The events stream's bounds now; undefined is unlimited. */
  log: LogLimits;
  /** De-duplication window of the events stream, in ms. */
  dedupWindowMs: number;
  /** The dead-letter stream's max age, in ms; undefined is forever. */
  dlqMaxAgeMs: number | undefined;
  created: string[];
  existing: string[];
  /** Settings changed in place (`retention`, `log limits`, …). */
  changed: string[];
  /** What was adjusted on the way (e.g. the de-duplication window shrunk to the max age). */
  notes: string[];
}

/**
 * Creates the events stream, the dead-letter stream and the config bucket, after
 * checking that the server maps `count.*` subjects with the same shard count.
 * Idempotent: running it again with the same settings changes nothing. Running it with
 * other replicas, retention, log limits or dead-letter max age changes them in place.
 */
export async function initCluster(nc: NatsConnection, opts: InitOptions = {}): Promise<InitResult> {
  const jsm = await jetstreamManager(nc);
  const existingConfig = await readClusterConfig(nc).catch((err: unknown) => {
    if (err instanceof NodeError && err.code === "NOT_INITIALIZED") return undefined;
    throw err;
  });
  const shards = opts.shards ?? existingConfig?.shards ?? INIT_DEFAULTS.shards;
  assertShardCount(shards);
  const replicas = opts.replicas ?? existingConfig?.replicas ?? INIT_DEFAULTS.replicas;
  if (![1, 3, 5].includes(replicas)) {
    throw new NodeError("BAD_OPTION", `replicas must be 1, 3 or 5, got ${replicas}`);
  }
  const periods = opts.periods ?? existingConfig?.periods ?? [...INIT_DEFAULTS.periods];
  if (existingConfig && existingConfig.shards !== shards) {
    throw new NodeError(
      "CONFIG_MISMATCH",
      `the cluster was initialised with ${existingConfig.shards} shards; the shard count cannot change (asked for ${shards})`,
    );
  }
  if (existingConfig && existingConfig.periods.join(",") !== periods.join(",")) {
    throw new NodeError(
      "CONFIG_MISMATCH",
      `the cluster counts periods ${existingConfig.periods.join(",")}; changing them would make replays disagree (asked for ${periods.join(",")})`,
    );
  }
  const leaseTtlMs = opts.leaseTtlMs ?? existingConfig?.leaseTtlMs ?? INIT_DEFAULTS.leaseTtlMs;
  if (!Number.isInteger(leaseTtlMs) || leaseTtlMs < 1000 || leaseTtlMs > 600_000) {
    throw new NodeError("BAD_OPTION", `lease TTL must be an integer from 1000 to 600000 ms, got ${leaseTtlMs}`);
  }
  if (existingConfig && existingConfig.leaseTtlMs !== leaseTtlMs) {
    throw new NodeError(
      "CONFIG_MISMATCH",
      `the cluster's lease TTL is ${existingConfig.leaseTtlMs} ms; it cannot change while nodes may hold leases (asked for ${leaseTtlMs})`,
    );
  }
  const retention = resolveRetention(opts.retention, existingConfig?.retention);
  const maxCheckpointIntervalMs =
    opts.checkpointIntervalMs ?? existingConfig?.maxCheckpointIntervalMs ?? INIT_DEFAULTS.checkpointIntervalMs;
  if (
    !Number.isInteger(maxCheckpointIntervalMs) ||
    maxCheckpointIntervalMs < 100 ||
    maxCheckpointIntervalMs > 3_600_000
  ) {
    throw new NodeError(
      "BAD_OPTION",
      `--checkpoint-interval must be an integer from 100 to 3600000 ms, got ${maxCheckpointIntervalMs}`,
    );
  }
  const info = (name: string) => jsm.streams.info(name).catch(() => undefined);
  const [events, dlq] = await Promise.all([info(EVENTS_STREAM), info(DLQ_STREAM)]);
  const limits = resolveStreamLimits(opts, events, dlq, await longestInterval(nc, maxCheckpointIntervalMs));
  await probeMappings(nc, shards, opts.probeTimeoutMs);

  const created: string[] = [];
  const existing: string[] = [];
  const changed: string[] = [];
  const { log, dedupWindowMs, dlqMaxAgeMs } = limits;
  await ensureStream(
    jsm,
    events,
    {
      name: EVENTS_STREAM,
      // Exactly the subjects some shard consumes, so a stray publish on tally.ev.*
      // gets "no responders" instead of being stored where no shard would see it.
      subjects: storedEventSubjects(shards),
      num_replicas: replicas,
      ...limitFields(log.maxAgeMs, log.maxBytes, dedupWindowMs),
    },
    { created, existing, changed },
  );
  await ensureStream(
    jsm,
    dlq,
    {
      name: DLQ_STREAM,
      subjects: [DLQ_FILTER],
      num_replicas: replicas,
      ...limitFields(dlqMaxAgeMs, undefined, dedupWindowMs),
    },
    { created, existing, changed },
  );

  const kvm = new Kvm(nc);
  const config: ClusterConfig = {
    shards,
    periods,
    replicas,
    leaseTtlMs,
    retention,
    maxCheckpointIntervalMs,
    version: 1,
  };
  await ensureBucket(jsm, `KV_${MEMBERS_BUCKET}`, `kv ${MEMBERS_BUCKET}`, replicas, created, existing, () =>
    kvm.create(MEMBERS_BUCKET, { replicas, history: 1 }),
  );
  await ensureBucket(jsm, `KV_${LEASES_BUCKET}`, `kv ${LEASES_BUCKET}`, replicas, created, existing, () =>
    kvm.create(LEASES_BUCKET, { replicas, history: 1, ttl: leaseTtlMs }),
  );
  await ensureBucket(
    jsm,
    `OBJ_${CHECKPOINTS_BUCKET}`,
    `objects ${CHECKPOINTS_BUCKET}`,
    replicas,
    created,
    existing,
    () => new Objm(nc).create(CHECKPOINTS_BUCKET, { replicas }),
  );
  // Checkpoint manifests: one per shard, moved only by compare-and-set on its revision.
  await ensureBucket(
    jsm,
    `KV_${CHECKPOINT_HEADS_BUCKET}`,
    `kv ${CHECKPOINT_HEADS_BUCKET}`,
    replicas,
    created,
    existing,
    () => kvm.create(CHECKPOINT_HEADS_BUCKET, { replicas, history: 1 }),
  );
  // The config record goes last: a node that finds it finds everything else too.
  const kv = await kvm.create(CONFIG_BUCKET, { replicas, history: 1 });
  if (existingConfig) {
    const settings = (c: ClusterConfig) => [c.replicas, formatRetention(c.retention), c.maxCheckpointIntervalMs];
    if (JSON.stringify(settings(existingConfig)) !== JSON.stringify(settings(config))) {
      await kv.put(CLUSTER_KEY, JSON.stringify(config));
      changed.push(`kv ${CONFIG_BUCKET} (cluster settings)`);
    }
    existing.push(`kv ${CONFIG_BUCKET}`);
  } else {
    await kv.create(CLUSTER_KEY, JSON.stringify(config));
    created.push(`kv ${CONFIG_BUCKET}`);
  }
  return { config, log, dedupWindowMs, dlqMaxAgeMs, created, existing, changed, notes: limits.notes };
}

/** The retention after applying `csv` over the current one (a parse error is `BAD_OPTION`). */
function resolveRetention(csv: string | undefined, current: Retention | undefined): Retention {
  const base = current ?? { ...DEFAULT_RETENTION };
  if (csv === undefined) return base;
  try {
    return parseRetention(csv, base);
  } catch (err) {
    if (err instanceof TallyError) throw new NodeError("BAD_OPTION", `--retention: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * The checkpoint interval log limits are checked against: the cluster's stated one,
 * or a live node's if one reports a longer interval in its heartbeat.
 */
async function longestInterval(nc: NatsConnection, statedMs: number): Promise<{ intervalMs: number; source: string }> {
  let longest = { intervalMs: statedMs, source: "the cluster's --checkpoint-interval" };
  for (const [id, ms] of await liveCheckpointIntervals(nc)) {
    if (ms > longest.intervalMs) longest = { intervalMs: ms, source: `the checkpoint interval of live node ${id}` };
  }
  return longest;
}

/** Creates a KV bucket or object store (stream `stream`), or brings an existing one to `replicas`. */
async function ensureBucket(
  jsm: JetStreamManager,
  stream: string,
  label: string,
  replicas: number,
  created: string[],
  existing: string[],
  create: () => Promise<unknown>,
): Promise<void> {
  const info = await jsm.streams.info(stream).catch(() => undefined);
  if (!info) {
    await create();
    created.push(label);
    return;
  }
  if (info.config.num_replicas !== replicas)
    await jsm.streams.update(stream, { ...info.config, num_replicas: replicas });
  existing.push(label);
}

/**
 * Creates a stream, or brings an existing one (`info`) to `cfg`'s subjects, replicas
 * and limits. Old events are dropped first (JetStream's default `discard: old`), so a
 * full log never refuses a publish.
 */
async function ensureStream(
  jsm: JetStreamManager,
  info: StreamInfo | undefined,
  cfg: Partial<StreamConfig> & { name: string },
  out: { created: string[]; existing: string[]; changed: string[] },
): Promise<void> {
  if (!info) {
    await jsm.streams.add({ storage: "file", ...cfg } as Partial<StreamConfig> & { name: string });
    out.created.push(`stream ${cfg.name}`);
    return;
  }
  const differs: string[] = (["num_replicas", "max_age", "max_bytes", "duplicate_window"] as const).filter(
    (k) => cfg[k] !== undefined && info.config[k] !== cfg[k],
  );
  if ((info.config.subjects ?? []).join(",") !== (cfg.subjects ?? []).join(",")) differs.push("subjects");
  if (differs.length > 0) {
    await jsm.streams.update(cfg.name, { ...info.config, ...cfg });
    out.changed.push(`stream ${cfg.name} (${differs.join(", ")})`);
  }
  out.existing.push(`stream ${cfg.name}`);
}
