import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RestoreSource } from "../shard/shard-persistence.js";
import { EventLoopDelay } from "./event-loop-delay.js";
import { INVALID_NAMESPACE, NamespaceCounts, OTHER_NAMESPACES, TOP_NAMESPACES } from "./namespace-counts.js";
import { registerShardGauges } from "./shard-gauges.js";

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
  /** True while the lease is valid (false once lost, lapsed or given up). */
  leaseValid: boolean;
  /**
   * Events of the shard stored after the last one its consumer delivered and it
   * processed (JetStream's `num_pending` with that event); 0 before it consumes.
   */
  lag: number;
  /** Where the shard's state came from when this node took it. */
  source: RestoreSource;
}

/** Kinds of read timed by `tally_read_seconds`. */
export type ReadKind = "get" | "series" | "top" | "list";

/** The metrics one node exports on `/metrics` (Prometheus text format). */
export interface NodeMetrics {
  readonly registry: Registry;
  readonly deadLetters: Counter<"code">;
  /** Events applied and dead-lettered per namespace, bumped per event, exported top K + `_other`. */
  readonly namespaces: { readonly applied: NamespaceCounts; readonly deadLettered: NamespaceCounts };
  readonly reads: Counter<"outcome">;
  /** Time from a read's arrival to its answer (waits included), by kind. */
  readonly readSeconds: Histogram<"kind">;
  readonly snapshotSeconds: Histogram;
  readonly snapshotBytes: Counter;
  readonly checkpointSeconds: Histogram;
  readonly handoffs: Counter<"direction">;
  /** Shards taken whose lease the previous holder never released (it died or lost it). */
  readonly failovers: Counter;
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
  registerShardGauges(registry, stats, logGaps);
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
  const namespaces = { applied: new NamespaceCounts(), deadLettered: new NamespaceCounts() };
  namespaceCounter(
    registry,
    "tally_events_applied_total",
    `Valid events applied by this node (replays after a restart or take-over included), by namespace: the top ${TOP_NAMESPACES} by events since start, the rest as ns=${OTHER_NAMESPACES}`,
    namespaces.applied,
  );
  namespaceCounter(
    registry,
    "tally_events_dead_lettered_total",
    `Invalid stored events this node dead-lettered, by namespace: the top ${TOP_NAMESPACES}, the rest as ns=${OTHER_NAMESPACES}, subjects without a valid namespace as ns=${INVALID_NAMESPACE}`,
    namespaces.deadLettered,
  );
  return {
    registry,
    eventLoop,
    namespaces,
    checkpointBytes: new Counter({
      name: "tally_checkpoint_bytes_written_total",
      help: "Bytes written to shared checkpoints, by part kind (base, delta or compaction)",
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
      help: "Read requests answered, by outcome (ok or an error code; fenced: a read left unanswered because the lease had lapsed; top_/list_ outcomes for namespace reads)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    readSeconds: new Histogram({
      name: "tally_read_seconds",
      help: "Time from a read's arrival to its answer, waits for minSeq or a replay included, by kind (get, series: at the shard's owner; top, list: gathered)",
      labelNames: ["kind"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    checkpointSeconds: new Histogram({
      name: "tally_checkpoint_seconds",
      help: "Duration of shared checkpoint writes (what changed, to the object store)",
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    handoffs: new Counter({
      name: "tally_shard_moves_total",
      help: "Shards taken (in: restored and replayed) and handed off (out: checkpointed and released) by this node",
      labelNames: ["direction"],
      registers: [registry],
    }),
    failovers: new Counter({
      name: "tally_shard_failovers_total",
      help: "Shards this node took whose previous holder never released the lease (it died, or lost the lease): failovers, not hand-offs",
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
    snapshotBytes: new Counter({
      name: "tally_snapshot_bytes_written_total",
      help: "Bytes of keys and values written to LevelDB by shard snapshots",
      registers: [registry],
    }),
  };
}

/** A counter with label `ns` whose values come from `counts` at scrape time (see {@link NamespaceCounts}). */
function namespaceCounter(registry: Registry, name: string, help: string, counts: NamespaceCounts): void {
  new Counter({
    name,
    help,
    labelNames: ["ns"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [ns, v] of counts.scrape()) this.inc({ ns }, v);
    },
  });
}
