import { Gauge, type Registry } from "prom-client";
import type { LogGapSource, ShardStats } from "./metrics.js";

/**
 * Registers the per-shard gauges (label `shard`), read from `stats` at scrape time: the
 * actors keep plain numbers and the hot path does no metric work. A shard this node no
 * longer holds drops out of every gauge.
 */
export function registerShardGauges(registry: Registry, stats: () => ShardStats[], logGaps?: LogGapSource): void {
  const gauge = (name: string, help: string, pick: (s: ShardStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["shard"],
      registers: [registry],
      collect() {
        this.reset(); // shards this node no longer serves drop out
        for (const s of stats()) this.set({ shard: String(s.shard) }, pick(s));
      },
    });
  gauge(
    "tally_shard_owned",
    "1 for each shard this node holds a valid lease for (sum by instance: shards per node), 0 while one it still holds is being given up",
    (s) => (s.leaseValid ? 1 : 0),
  );
  gauge(
    "tally_shard_ready",
    "1 while a shard is consuming, holds its lease and has caught up with the stream as it was when taken (what /readyz needs of every shard)",
    (s) => (s.ready ? 1 : 0),
  );
  gauge(
    "tally_shard_lag_events",
    "Events of the shard stored after the last one it processed, as JetStream reported with that event (num_pending of the shard's consumer)",
    (s) => s.lag,
  );
  gauge("tally_shard_events_applied", "Valid events applied per shard since this node took it", (s) => s.eventsApplied);
  gauge("tally_shard_processed_seq", "Highest stream sequence processed per shard", (s) => s.processedSeq);
  gauge("tally_shard_snapshot_seq", "Stream sequence of the last LevelDB snapshot per shard", (s) => s.snapshotSeq);
  gauge("tally_shard_epoch", "Lease epoch per shard this node serves", (s) => s.epoch);
  gauge("tally_shard_entries", "In-memory (counter, period, bucket) entries per shard", (s) => s.entries);
  gauge(
    "tally_shard_log_gap",
    "1 while a shard is marked with a log gap (events may be missing from its counts; see tally accept-gap), else 0",
    (s) => (logGaps?.marked(s.shard) ? 1 : 0),
  );
}
