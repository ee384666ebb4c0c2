import { DEFAULT_PERIODS, DEFAULT_RETENTION, DEFAULT_SHARDS } from "@tally/core";
import { NODE_DEFAULTS } from "./options.js";

/** Names of the JetStream resources Tally creates with `tally init`. */
export const EVENTS_STREAM = "TALLY_EVENTS";
/** Dead-letter stream: invalid stored events, with their reason in headers. */
export const DLQ_STREAM = "TALLY_DLQ";
/** KV bucket holding the cluster-wide settings written by `tally init`. */
export const CONFIG_BUCKET = "tally_config";
/** Key of the cluster settings in {@link CONFIG_BUCKET}. */
export const CLUSTER_KEY = "cluster";
/** Namespace used by the mapping probe; reserved (leading `_`), never counted. */
export const PROBE_NS = "_tally_probe";

/** Headers set on each dead-letter record. */
export const DlqHeader = {
  code: "Tally-Error-Code",
  message: "Tally-Error",
  subject: "Tally-Source-Subject",
  seq: "Tally-Source-Seq",
  time: "Tally-Source-Time",
  /** Size of the original body; the record holds at most its first 4096 bytes. */
  bytes: "Tally-Body-Bytes",
  /** Id of the node that wrote the record (`tally dlq` shows it). */
  node: "Tally-Node",
} as const;

/** KV bucket of live members: one heartbeat entry per node, keyed by node id. */
export const MEMBERS_BUCKET = "tally_members";
/** KV bucket of shard leases (`shard-<n>`); entries expire after the lease TTL. */
export const LEASES_BUCKET = "tally_leases";
/**
 * Object store of shared checkpoints: each shard's chain of parts (`shard-<n>/…`), or
 * the whole-state object `shard-<n>` of version 1; any node can restore any shard.
 */
export const CHECKPOINTS_BUCKET = "tally_checkpoints";
/** KV bucket of checkpoint manifests (`shard-<n>`): the parts of each shard's chain, updated by compare-and-set. */
export const CHECKPOINT_HEADS_BUCKET = "tally_checkpoint_heads";
/** Key of a shard's entry in {@link LEASES_BUCKET} and {@link CHECKPOINTS_BUCKET}: `shard-<n>`. */
export function shardKey(shard: number): string {
  return `shard-${shard}`;
}

/** The shard of a {@link shardKey}, or undefined for any other key. */
export function parseShardKey(key: string): number | undefined {
  const m = /^shard-(0|[1-9][0-9]{0,3})$/.exec(key);
  return m ? Number(m[1]) : undefined;
}
/**
 * Default cluster settings of `tally init`: the one source for {@link initCluster},
 * the CLI's flags and help, and the docs.
 */
export const INIT_DEFAULTS = {
  shards: DEFAULT_SHARDS,
  replicas: 1,
  periods: DEFAULT_PERIODS,
  /** Lifetime of a shard lease without renewal, in ms. */
  leaseTtlMs: 5000,
  /** JetStream de-duplication window for `Nats-Msg-Id`, in ms (at most the log's max age). */
  dedupWindowMs: 120_000,
  /** How long each period keeps its buckets (minute 48h, hour 90d, the rest forever). */
  retention: DEFAULT_RETENTION,
  /** Longest shared checkpoint interval of the cluster's nodes, in ms: the node default. */
  checkpointIntervalMs: NODE_DEFAULTS.checkpointIntervalMs,
  /** How long the dead-letter stream keeps a record, in ms: 30 days. */
  dlqMaxAgeMs: 30 * 86_400_000,
} as const;
