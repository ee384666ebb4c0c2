import type { NatsConnection } from "@nats-io/transport-node";
import { DEFAULT_RETENTION, type Period, type Retention } from "@tally/core";
import { NodeError } from "../errors.js";
import { CLUSTER_KEY, CONFIG_BUCKET, INIT_DEFAULTS } from "../names.js";
import { openKv } from "../nats/buckets.js";

/** Cluster-wide settings, written once by `tally init` and read by every node. */
export interface ClusterConfig {
  /** Number of shards P; fixed for the life of the cluster. */
  shards: number;
  /** Periods every counter is bucketed into (always includes `all`). */
  periods: Period[];
  /** Replicas of the streams and buckets. */
  replicas: number;
  /**
   * Lifetime of a shard lease without renewal, in ms (the lease bucket's max age).
   * Owners renew every fifth of it and stop serving a shard once 80% of it has
   * passed since the last renewal they sent. Absent in clusters made before leases: 5000.
   */
  leaseTtlMs: number;
  /**
   * How long each period keeps its buckets (`tally init --retention`); nodes follow
   * changes without a restart. Absent in clusters made before retention: the
   * defaults, {@link DEFAULT_RETENTION} (minute 48h, hour 90d, the rest forever).
   */
  retention: Retention;
  /**
   * The longest shared checkpoint interval the cluster's nodes use, in ms (`tally init
   * --checkpoint-interval`): init refuses a log max age under ten of them. Absent in
   * clusters made before log limits: the node default, 5000.
   */
  maxCheckpointIntervalMs: number;
  /** Format version of this record. */
  version: 1;
}

/** Reads the settings `tally init` wrote; `NOT_INITIALIZED` when there are none. */
export async function readClusterConfig(nc: NatsConnection): Promise<ClusterConfig> {
  const kv = await openKv(nc, CONFIG_BUCKET);
  const entry = await kv.get(CLUSTER_KEY).catch((err: unknown) => {
    throw new NodeError(
      "NOT_INITIALIZED",
      `the cluster is not initialised (no ${CONFIG_BUCKET} bucket): run \`tally init\``,
      {
        cause: err,
      },
    );
  });
  if (!entry || entry.operation !== "PUT") {
    throw new NodeError("NOT_INITIALIZED", "the cluster is not initialised: run `tally init`");
  }
  return withDefaults(entry.json<Partial<ClusterConfig>>());
}

/** A stored config record with the fields older records lack filled in (see {@link ClusterConfig}). */
export function withDefaults(stored: Partial<ClusterConfig>): ClusterConfig {
  return {
    ...(stored as ClusterConfig),
    leaseTtlMs: stored.leaseTtlMs ?? INIT_DEFAULTS.leaseTtlMs,
    retention: stored.retention ?? { ...DEFAULT_RETENTION },
    maxCheckpointIntervalMs: stored.maxCheckpointIntervalMs ?? INIT_DEFAULTS.checkpointIntervalMs,
  };
}
