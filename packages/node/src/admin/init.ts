import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { assertShardCount, DLQ_FILTER, storedEventSubjects, type Period } from "@tally/core";
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
import { probeMappings } from "./mapping-probe.js";

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
  /** JetStream de-duplication window for `Nats-Msg-Id`, in ms. @default 120000 */
  dedupWindowMs?: number;
  /** How long to wait for the mapping probe. @default 2000 */
  probeTimeoutMs?: number;
}

/** What {@link initCluster} did. */
export interface InitResult {
  config: ClusterConfig;
  created: string[];
  existing: string[];
}

/**
 * Creates the events stream, the dead-letter stream and the config bucket, after
 * checking that the server maps `count.*` subjects with the same shard count.
 * Idempotent: running it again with the same settings changes nothing.
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
  await probeMappings(nc, shards, opts.probeTimeoutMs);

  const created: string[] = [];
  const existing: string[] = [];
  const dedupNs = (opts.dedupWindowMs ?? INIT_DEFAULTS.dedupWindowMs) * 1_000_000;
  await ensureStream(
    jsm,
    {
      name: EVENTS_STREAM,
      // Exactly the subjects some shard consumes, so a stray publish on tally.ev.*
      // gets "no responders" instead of being stored where no shard would see it.
      subjects: storedEventSubjects(shards),
      num_replicas: replicas,
      duplicate_window: dedupNs,
    },
    created,
    existing,
  );
  await ensureStream(
    jsm,
    { name: DLQ_STREAM, subjects: [DLQ_FILTER], num_replicas: replicas, duplicate_window: dedupNs },
    created,
    existing,
  );

  const kvm = new Kvm(nc);
  const config: ClusterConfig = { shards, periods, replicas, leaseTtlMs, version: 1 };
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
    if (existingConfig.replicas !== replicas) {
      await kv.put(CLUSTER_KEY, JSON.stringify(config));
    }
    existing.push(`kv ${CONFIG_BUCKET}`);
  } else {
    await kv.create(CLUSTER_KEY, JSON.stringify(config));
    created.push(`kv ${CONFIG_BUCKET}`);
  }
  return { config, created, existing };
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

async function ensureStream(
  jsm: JetStreamManager,
  cfg: Partial<StreamConfig> & { name: string },
  created: string[],
  existing: string[],
): Promise<void> {
  const info = await jsm.streams.info(cfg.name).catch(() => undefined);
  if (!info) {
    await jsm.streams.add({ storage: "file", ...cfg } as Partial<StreamConfig> & { name: string });
    created.push(`stream ${cfg.name}`);
    return;
  }
  const subjectsDiffer = (info.config.subjects ?? []).join(",") !== (cfg.subjects ?? []).join(",");
  if (info.config.num_replicas !== cfg.num_replicas || subjectsDiffer) {
    await jsm.streams.update(cfg.name, {
      ...info.config,
      num_replicas: cfg.num_replicas,
      subjects: cfg.subjects ?? [],
    });
  }
  existing.push(`stream ${cfg.name}`);
}
