import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RestoreSource } from "../shard/shard-persistence.js";
import { EventLoopDelay } from "./event-loop-delay.js";

/** Per-shard figures an actor keeps as plain numbers (no work on the hot path). */
export interface ShardStats {
  shard: number;
  /** Valid events applied since this node took the shard (an event count, not a sequence). */
  eventsApplied: number;
  /** Highest stream sequence processed (applied or dead-lettered). */
  processedSeq: number;
  /** Sequence of the last snapshot written to LevelDB. */
  snapshotSeq: number;
  /** True once the shard has caught up with the stream as it was at start. */
  ready: boolean;
  /** In-memory (counter, period, bucket) entries. */
  entries: number;
  /** Fencing epoch of the lease this node holds for the shard. */
  epoch: number;
  /** Where the shard's state came from when this node took it. */
  source: RestoreSource;
}

/** The metrics one node exports on `/metrics` (Prometheus text format). */
export interface NodeMetrics {
  readonly registry: Registry;
  readonly deadLetters: Counter<"code">;
  readonly reads: Counter<"outcome">;
  readonly snapshotSeconds: Histogram;
  readonly checkpointSeconds: Histogram;
  readonly handoffs: Counter<"direction">;
  readonly leasesLost: Counter;
  readonly checkpointBytes: Counter<"kind">;
  /** Event-loop delay, since start (for `/status`) and per scrape window (the gauge). */
  readonly eventLoop: EventLoopDelay;
}

/** Which shards carry a log gap mark (see `LogGapMarks`). */
export interface LogGapSource {
  marked(shard: number): unknown;
}

/**
 * Creates a node's metrics in a registry of its own (several nodes may share a
 * process); per-shard gauges are read from `stats` (and `logGaps`) at scrape time.
 */
export function createMetrics(stats: () => ShardStats[], logGaps?: LogGapSource): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
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
  const eventLoop = new EventLoopDelay();
  new Gauge({
    name: "tally_event_loop_delay_seconds",
    help: "Event-loop delay since the previous scrape (perf_hooks.monitorEventLoopDelay): p50, p99 and max",
    labelNames: ["stat"],
    registers: [registry],
    collect() {
      const w = eventLoop.takeWindow();
      this.set({ stat: "p50" }, w.p50 / 1000);
      this.set({ stat: "p99" }, w.p99 / 1000);
      this.set({ stat: "max" }, w.max / 1000);
    },
  });
  return {
    registry,
    eventLoop,
    checkpointBytes: new Counter({
      name: "tally_checkpoint_bytes_written_total",
      help: "Bytes written to shared checkpoints, by part kind (base or delta)",
      labelNames: ["kind"],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: "tally_dead_letters_total",
      help: "Invalid stored events sent to the dead-letter stream, by error code",
      labelNames: ["code"],
      registers: [registry],
    }),
    reads: new Counter({
      name: "tally_reads_total",
      help: "Read requests answered, by outcome (ok or an error code)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    checkpointSeconds: new Histogram({
      name: "tally_checkpoint_seconds",
      help: "Duration of shared checkpoint writes (whole shard to the object store)",
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    handoffs: new Counter({
      name: "tally_shard_moves_total",
      help: "Shards taken (in) and handed off (out) by this node",
      labelNames: ["direction"],
      registers: [registry],
    }),
    leasesLost: new Counter({
      name: "tally_leases_lost_total",
      help: "Shard leases this node lost without handing them off (renewal failed or lapsed)",
      registers: [registry],
    }),
    snapshotSeconds: new Histogram({
      name: "tally_snapshot_seconds",
      help: "Duration of shard snapshot writes",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
  };
}
