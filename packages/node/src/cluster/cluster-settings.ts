import type { NatsConnection } from "@nats-io/transport-node";
import type { KvWatchEntry } from "@nats-io/kv";
import type { Logger } from "pino";
import { formatRetention, type Retention } from "@tally/core";
import { withDefaults, type ClusterConfig } from "../admin/cluster-config.js";
import { parseGapKey, type LogGapRecord } from "../admin/log-gaps.js";
import { CLUSTER_KEY, CONFIG_BUCKET } from "../names.js";
import { openKv } from "../nats/buckets.js";
import { watchBucket, type BucketWatch } from "../nats/kv-watch.js";

/**
 * The cluster settings as they change: a watch of the {@link CONFIG_BUCKET}, so a
 * re-run of `tally init` (new retention, replicas) reaches every node without a
 * restart. Log gap records (`gap.shard-<n>`) live in the same bucket and are handed
 * to `onGap` as they appear, widen or are accepted.
 */
export class ClusterSettings {
  #config: ClusterConfig;
  readonly #log: Logger;
  #watch: BucketWatch | undefined;

  private constructor(initial: ClusterConfig, log: Logger) {
    this.#config = initial;
    this.#log = log;
  }

  /** Starts the watch; resolves once the current config and gap records are loaded. */
  static async watch(
    nc: NatsConnection,
    initial: ClusterConfig,
    log: Logger,
    onGap: (shard: number, record: LogGapRecord | undefined) => void,
  ): Promise<ClusterSettings> {
    const s = new ClusterSettings(initial, log);
    const kv = await openKv(nc, CONFIG_BUCKET);
    s.#watch = await watchBucket(kv, log, {
      onEntry: (e) => s.#apply(e, onGap),
      onRestart: () => undefined, // the current entries follow and replace what is known
    });
    return s;
  }

  /** The settings as last written by `tally init`. */
  get config(): ClusterConfig {
    return this.#config;
  }

  /** The cluster's retention as last written (a getter for shard actors). */
  retention(): Readonly<Retention> {
    return this.#config.retention;
  }

  stop(): void {
    this.#watch?.stop();
  }

  #apply(e: KvWatchEntry, onGap: (shard: number, record: LogGapRecord | undefined) => void): void {
    try {
      if (e.key === CLUSTER_KEY) {
        // The cluster record is never deleted by Tally; a deleted one keeps the last settings.
        if (e.operation !== "PUT") return;
        const next = withDefaults(e.json<Partial<ClusterConfig>>());
        const before = formatRetention(this.#config.retention);
        this.#config = next;
        const after = formatRetention(next.retention);
        if (after !== before) this.#log.info({ retention: after, was: before }, "cluster retention changed");
        return;
      }
      const shard = parseGapKey(e.key);
      if (shard !== undefined) onGap(shard, e.operation === "PUT" ? e.json<LogGapRecord>() : undefined);
    } catch (err) {
      this.#log.warn({ err, key: e.key }, "unreadable config entry ignored");
    }
  }
}
