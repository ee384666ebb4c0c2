import type { NatsConnection } from "@nats-io/transport-node";
import { tallyClient } from "@tally/client";
import { firstRetainedIndex, type Period, type Retention } from "@tally/core";
import { NODE_DEFAULTS } from "../options.js";
import { readClusterConfig } from "./cluster-config.js";
import { compareWithNodes, type Difference, type ReadFailure } from "./verify-compare.js";
import type { IsRetained } from "./verify-plan.js";
import { recountEventLog } from "./verify-recount.js";
import { settleWithLaterEvents } from "./verify-settle.js";

/** Defaults of {@link verifyCounts}, for the CLI's flags and help. */
export const VERIFY_DEFAULTS = {
  /** Reads in flight at once. */
  concurrency: 64,
  /** Most buckets per series read: the nodes' own limit. */
  maxSeriesPoints: NODE_DEFAULTS.maxSeriesPoints,
  /** Failed reads after which the compare gives up. */
  maxFailures: 20,
  /** Buckets expiring within this many ms of the compare are skipped (they may be swept meanwhile). */
  retentionMarginMs: 60_000,
} as const;

/** Where a verify run is. */
export interface VerifyProgress {
  /** `recount`: reading the log; `compare`: reading the nodes; `settle`: reading events stored since. */
  phase: "recount" | "compare" | "settle";
  /** Events read (recount, settle) or reads done (compare). */
  done: number;
  /** Progress in the unit of `total`: sequences passed (recount, settle) or reads done (compare). */
  position: number;
  total: number;
}

/** Options of {@link verifyCounts}. */
export interface VerifyOptions {
  /** Only this namespace. @default every namespace */
  ns?: string;
  /**
   * Whether a bucket is still kept (retention); expired ones are not compared. Called
   * with the compare's start time plus `retentionMarginMs`.
   * @default the cluster's retention: a bucket is kept until its end plus its period's retention
   */
  isRetained?: IsRetained;
  /** @default 64 */
  concurrency?: number;
  /** @default NODE_DEFAULTS.maxSeriesPoints (1000) */
  maxSeriesPoints?: number;
  /** @default 20 */
  maxFailures?: number;
  /** @default 60000 */
  retentionMarginMs?: number;
  /** Messages per pull when reading the log. @default 2048 */
  batch?: number;
  /** Called as the run goes (every 1024 events, every read). */
  onProgress?: (p: VerifyProgress) => void;
}

/** What `tally verify` reports. */
export interface VerifyReport {
  ns: string | null;
  periods: Period[];
  log: {
    /** First sequence recounted. */
    fromSeq: number;
    /** Last sequence recounted (`end`); the reads waited for it (`minSeq`). */
    endSeq: number;
    /** The stream's first sequence once the recount was done. */
    firstSeq: number;
    /** Stored time of the log's first event (ISO), if any. */
    firstStored: string | null;
    /** The log holds every event ever stored: all-time values and every bucket were checked. */
    complete: boolean;
    /** Unless complete, only buckets starting after this instant (ISO) were checked. */
    checkedAfter: string | null;
  };
  /**
   * Events of the namespace(s) checked: read, counted, and skipped as the nodes skip them;
   * `scanned` messages were read from the log in `ms`, `perSecond` of them.
   */
  events: { read: number; counted: number; skipped: number; scanned: number; ms: number; perSecond: number };
  checked: { counters: number; buckets: number; zeroBuckets: number; allTime: number; reads: number };
  /** Apparent differences explained by events stored after `endSeq` (the cluster kept counting). */
  settledByLaterEvents: number;
  /** Buckets the nodes had already expired. */
  expiredOnNodes: number;
  differences: Difference[];
  /** Reads that failed; when any did, the run is incomplete (exit code 2). */
  failures: ReadFailure[];
  /** True when the compare gave up after too many failed reads. */
  aborted: boolean;
}

/**
 * Recounts the event log and compares with what the nodes serve: every bucket the log
 * still fully holds (all-time too when it holds every event), for every counter it
 * names. Runs against a live cluster; see the README's `tally verify`.
 */
export async function verifyCounts(nc: NatsConnection, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const config = await readClusterConfig(nc);
  const progress = opts.onProgress;
  const recount = await recountEventLog(nc, {
    shards: config.shards,
    periods: config.periods,
    ...(opts.ns !== undefined ? { ns: opts.ns } : {}),
    ...(opts.batch !== undefined ? { batch: opts.batch } : {}),
    ...(progress
      ? {
          onProgress: (p, from, to) =>
            progress({ phase: "recount", done: p.events, position: p.seq - from + 1, total: to - from + 1 }),
        }
      : {}),
  });
  const client = tallyClient(nc);
  const nowMs = Date.now() + (opts.retentionMarginMs ?? VERIFY_DEFAULTS.retentionMarginMs);
  const compared = await compareWithNodes(recount, {
    client,
    isRetained: opts.isRetained ?? retainedBy(config.retention),
    nowMs,
    maxPoints: opts.maxSeriesPoints ?? VERIFY_DEFAULTS.maxSeriesPoints,
    concurrency: opts.concurrency ?? VERIFY_DEFAULTS.concurrency,
    maxFailures: opts.maxFailures ?? VERIFY_DEFAULTS.maxFailures,
    ...(progress ? { onProgress: (done, total) => progress({ phase: "compare", done, position: done, total }) } : {}),
  });
  const settled = await settleWithLaterEvents(nc, compared.differences, {
    shards: config.shards,
    endSeq: recount.endSeq,
    ...(opts.ns !== undefined ? { ns: opts.ns } : {}),
    ...(progress
      ? {
          onProgress: (p, from, to) =>
            progress({ phase: "settle", done: p.events, position: p.seq - from + 1, total: to - from + 1 }),
        }
      : {}),
  });
  const w = recount.window;
  const checkedAfter = !w.complete && w.firstStoredMs !== undefined ? new Date(w.firstStoredMs).toISOString() : null;
  return {
    ns: opts.ns ?? null,
    periods: config.periods,
    log: {
      fromSeq: recount.fromSeq,
      endSeq: recount.endSeq,
      firstSeq: recount.firstSeq,
      firstStored: w.firstStoredMs === undefined ? null : new Date(w.firstStoredMs).toISOString(),
      complete: w.complete,
      checkedAfter,
    },
    events: {
      read: recount.events,
      counted: recount.counted,
      skipped: recount.skipped,
      scanned: recount.scanned,
      ms: Math.round(recount.ms),
      perSecond: recount.ms > 0 ? Math.round((recount.scanned * 1000) / recount.ms) : 0,
    },
    checked: {
      counters: compared.counters,
      buckets: compared.buckets,
      zeroBuckets: compared.zeroBuckets,
      allTime: compared.allTime,
      reads: compared.reads,
    },
    settledByLaterEvents: settled.settled,
    expiredOnNodes: compared.expiredOnNodes,
    differences: settled.differences,
    failures: compared.failures,
    aborted: compared.aborted,
  };
}

/** The cluster's retention rule as an {@link IsRetained}. */
function retainedBy(retention: Readonly<Retention>): IsRetained {
  return (period, index, nowMs) => index >= firstRetainedIndex(period, retention[period], nowMs);
}
