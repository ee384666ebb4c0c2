import type { StreamConfig, StreamInfo } from "@nats-io/jetstream";
import { formatDuration } from "@tally/core";
import { NodeError } from "../errors.js";
import { INIT_DEFAULTS } from "../names.js";
import { DLQ_MAX_AGE_FLOOR_MS, checkLogLimits, type LogLimits } from "./log-limits.js";

/** What `tally init` was asked about the streams' bounds; undefined keeps the current value, null lifts a limit. */
export interface LimitRequest {
  logMaxAgeMs?: number | null;
  logMaxBytes?: number | null;
  dlqMaxAgeMs?: number | null;
  dedupWindowMs?: number;
}

/** The bounds the events and dead-letter streams get. */
export interface StreamLimits {
  log: LogLimits;
  /** De-duplication window of both streams, in ms (the dead-letter stream's is shrunk to its max age). */
  dedupWindowMs: number;
  /** How long the dead-letter stream keeps a record; undefined is forever. */
  dlqMaxAgeMs: number | undefined;
  /** What was adjusted on the way (printed by the CLI). */
  notes: string[];
}

const NS_PER_MS = 1_000_000;

/** A JetStream `max_age` or `duplicate_window` (ns, 0 = none) in ms; undefined for none. */
export function nanosToMs(ns: number | undefined): number | undefined {
  return ns && ns > 0 ? Math.round(ns / NS_PER_MS) : undefined;
}

/**
 * Works out the streams' bounds from what was asked, the streams as they are (undefined
 * when not created yet) and the longest checkpoint interval of the cluster, and refuses
 * bounds that could drop events before a checkpoint holds them (see {@link checkLogLimits}).
 * JetStream needs a de-duplication window no longer than the max age: a window given
 * with `dedupWindowMs` that is longer is refused; the default or existing one is shrunk
 * to the max age, with a note.
 */
export function resolveStreamLimits(
  req: LimitRequest,
  events: StreamInfo | undefined,
  dlq: StreamInfo | undefined,
  checkpoint: { intervalMs: number; source: string },
): StreamLimits {
  const notes: string[] = [];
  const pick = (asked: number | null | undefined, current: number | undefined) =>
    asked === undefined ? current : (asked ?? undefined);
  const currentBytes = events && events.config.max_bytes > 0 ? events.config.max_bytes : undefined;
  const log: LogLimits = {
    maxAgeMs: pick(req.logMaxAgeMs, nanosToMs(events?.config.max_age)),
    maxBytes: pick(req.logMaxBytes, currentBytes),
  };
  checkLogLimits(log, checkpoint.intervalMs, checkpoint.source);
  let dedupWindowMs = req.dedupWindowMs ?? nanosToMs(events?.config.duplicate_window) ?? INIT_DEFAULTS.dedupWindowMs;
  if (!Number.isInteger(dedupWindowMs) || dedupWindowMs < 100) {
    throw new NodeError("BAD_OPTION", `--dedup-window must be an integer of at least 100 ms, got ${dedupWindowMs}`);
  }
  if (log.maxAgeMs !== undefined && dedupWindowMs > log.maxAgeMs) {
    if (req.dedupWindowMs !== undefined) {
      throw new NodeError(
        "BAD_OPTION",
        `--dedup-window ${dedupWindowMs} ms is longer than --log-max-age ${formatDuration(log.maxAgeMs)}: JetStream ` +
          `forgets a message id when the message leaves the log. Use a window of at most ${log.maxAgeMs} ms`,
      );
    }
    notes.push(
      `de-duplication window shrunk from ${dedupWindowMs} ms to the log's max age (${log.maxAgeMs} ms): ` +
        `a retried publish is recognised only while its first copy is in the log`,
    );
    dedupWindowMs = log.maxAgeMs;
  }
  const dlqMaxAgeMs = pick(req.dlqMaxAgeMs, dlq ? nanosToMs(dlq.config.max_age) : INIT_DEFAULTS.dlqMaxAgeMs);
  if (dlqMaxAgeMs !== undefined && dlqMaxAgeMs < DLQ_MAX_AGE_FLOOR_MS) {
    throw new NodeError(
      "BAD_OPTION",
      `--dlq-max-age must be at least ${formatDuration(DLQ_MAX_AGE_FLOOR_MS)}, got ${dlqMaxAgeMs} ms`,
    );
  }
  return { log, dedupWindowMs, dlqMaxAgeMs, notes };
}

/** The JetStream fields for a stream with max age `maxAgeMs`, size `maxBytes` and window `dedupMs`. */
export function limitFields(
  maxAgeMs: number | undefined,
  maxBytes: number | undefined,
  dedupMs: number,
): Pick<StreamConfig, "max_age" | "max_bytes" | "duplicate_window"> {
  const window = maxAgeMs === undefined ? dedupMs : Math.min(dedupMs, maxAgeMs);
  return {
    max_age: (maxAgeMs ?? 0) * NS_PER_MS,
    max_bytes: maxBytes ?? -1,
    duplicate_window: window * NS_PER_MS,
  };
}
