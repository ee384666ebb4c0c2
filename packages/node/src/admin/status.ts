import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { readClusterConfig, type ClusterConfig } from "./cluster-config.js";
import { isMarked, readLogGaps, type LogGapRecord } from "./log-gaps.js";
import { nanosToMs } from "./stream-limits.js";
import { openKv } from "../nats/buckets.js";
import { NODE_DEFAULTS } from "../options.js";
import type { MemberInfo } from "../cluster/membership.js";
import { EVENTS_STREAM, LEASES_BUCKET, MEMBERS_BUCKET, shardKey } from "../names.js";
import { nextShardEventSeq } from "../nats/stream-lookup.js";

/** One member as `tally status` reports it. */
export interface MemberStatus {
  id: string;
  host: string;
  startedAt: string;
  /** Age of its last heartbeat in ms, by this machine's clock against the server's stamp. */
  heartbeatAgeMs: number;
  /** False when the last heartbeat is older than the member timeout. */
  live: boolean;
  /** Shards it reports serving. */
  shards: number;
  /** Present while it takes no new shards (resident memory over its `--max-memory`): why. */
  refusingShards?: string;
}

/** One shard as `tally status` reports it. */
export interface ShardStatus {
  shard: number;
  /** Lease holder, if any. */
  owner: string | undefined;
  epoch: number | undefined;
  /**
   * Stream sequence up to which the owner has processed every event of the shard (from
   * its last heartbeat); a sequence, not an event count.
   */
  appliedSeq: number | undefined;
  /**
   * Stream last sequence minus applied; 0 when no event of this shard follows the
   * applied sequence (idle shards are not behind). Undefined if not served.
   */
  lag: number | undefined;
  /**
   * Present while the shard is marked with a log gap: events of it with sequence
   * `restoredSeq + 1 … logFirstSeq - 1` may be missing from its counts (`tally accept-gap`).
   */
  logGap?: LogGapRecord;
}

/** The events stream (the log) as `tally status` reports it. */
export interface LogStatus {
  /** First and last sequence it holds, events and bytes. */
  firstSeq: number;
  lastSeq: number;
  messages: number;
  bytes: number;
  /** Its limits (`tally init --log-max-age`, `--log-max-bytes`); absent when unlimited. */
  maxAgeMs?: number;
  maxBytes?: number;
}

export interface ClusterStatus {
  config: ClusterConfig;
  streamLastSeq: number;
  log: LogStatus;
  members: MemberStatus[];
  shards: ShardStatus[];
}

/** Reads membership, leases and the stream: what `tally status` prints. */
export async function clusterStatus(
  nc: NatsConnection,
  opts: { memberTimeoutMs?: number } = {},
): Promise<ClusterStatus> {
  const config = await readClusterConfig(nc);
  const jsm = await jetstreamManager(nc);
  const stream = await jsm.streams.info(EVENTS_STREAM);
  const last = stream.state.last_seq;
  const maxAgeMs = nanosToMs(stream.config.max_age);
  const log: LogStatus = {
    firstSeq: stream.state.first_seq,
    lastSeq: last,
    messages: stream.state.messages,
    bytes: stream.state.bytes,
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
    ...(stream.config.max_bytes > 0 ? { maxBytes: stream.config.max_bytes } : {}),
  };
  const [membersKv, leasesKv, gaps] = await Promise.all([
    openKv(nc, MEMBERS_BUCKET),
    openKv(nc, LEASES_BUCKET),
    readLogGaps(nc),
  ]);
  const timeout = opts.memberTimeoutMs ?? NODE_DEFAULTS.memberTimeoutMs;
  const members: MemberStatus[] = [];
  // Per shard, what each member reports (a stopped member's last heartbeat may still name it).
  const reported = new Map<number, Map<string, number>>();
  for (const key of await memberKeys(jsm)) {
    const e = await membersKv.get(key);
    if (!e || e.operation !== "PUT") continue;
    const info = e.json<MemberInfo>();
    const age = Math.max(0, Date.now() - e.created.getTime());
    const shards = Object.entries(info.shards ?? {});
    members.push({
      id: info.id,
      host: info.host,
      startedAt: info.startedAt,
      heartbeatAgeMs: age,
      live: age < timeout,
      shards: shards.length,
      ...(typeof info.refusingShards === "string" ? { refusingShards: info.refusingShards } : {}),
    });
    for (const [s, seq] of shards) {
      const bySeq = reported.get(Number(s)) ?? new Map<string, number>();
      bySeq.set(info.id, seq);
      reported.set(Number(s), bySeq);
    }
  }
  members.sort((a, b) => (a.id < b.id ? -1 : 1));
  const shards: ShardStatus[] = await Promise.all(
    Array.from({ length: config.shards }, async (_, s): Promise<ShardStatus> => {
      const e = await leasesKv.get(shardKey(s));
      const lease = e?.operation === "PUT" ? e.json<{ owner: string; epoch?: number }>() : undefined;
      const owner = lease?.owner;
      const seq = owner === undefined ? undefined : reported.get(s)?.get(owner);
      let lag: number | undefined;
      if (seq !== undefined)
        lag = seq >= last || (await nextShardEventSeq(nc, s, seq + 1)) === undefined ? 0 : last - seq;
      const gap = gaps.get(s);
      return {
        shard: s,
        owner,
        epoch: lease ? (lease.epoch ?? e!.revision) : undefined,
        appliedSeq: seq,
        lag,
        ...(isMarked(gap) ? { logGap: gap } : {}),
      };
    }),
  );
  return { config, streamLastSeq: last, log, members, shards };
}

/**
 * Live members' shared checkpoint intervals (from their heartbeats), by member id;
 * empty before the members bucket exists. `tally init` checks log limits against them.
 */
export async function liveCheckpointIntervals(
  nc: NatsConnection,
  timeoutMs: number = NODE_DEFAULTS.memberTimeoutMs,
): Promise<Map<string, number>> {
  const jsm = await jetstreamManager(nc);
  const out = new Map<string, number>();
  const keys = await memberKeys(jsm).catch(() => undefined);
  if (!keys) return out;
  const kv = await openKv(nc, MEMBERS_BUCKET);
  for (const key of keys) {
    const e = await kv.get(key);
    if (!e || e.operation !== "PUT" || Date.now() - e.created.getTime() >= timeoutMs) continue;
    const info = e.json<MemberInfo>();
    if (typeof info.checkpointIntervalMs === "number") out.set(info.id, info.checkpointIntervalMs);
  }
  return out;
}

/**
 * Keys in the members bucket, from one stream-info request (subjects with messages).
 * `kv.keys()` is avoided: it ends only when its consumer reports nothing pending or
 * goes idle for 5 s, and members write heartbeats all the time, so on a loaded server
 * it could run for a minute.
 */
async function memberKeys(jsm: JetStreamManager): Promise<string[]> {
  const prefix = `$KV.${MEMBERS_BUCKET}.`;
  const info = await jsm.streams.info(`KV_${MEMBERS_BUCKET}`, { subjects_filter: `${prefix}>` });
  return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
}
