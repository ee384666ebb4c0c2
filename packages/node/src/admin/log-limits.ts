import { formatDuration } from "@tally/core";
import { NodeError } from "../errors.js";

/**
 * A bounded log must hold at least this many checkpoint intervals: an event then
 * stays in the log through ten chances to be checkpointed before it may be dropped.
 */
export const CHECKPOINTS_IN_LOG = 10;

/**
 * Smallest `--log-max-bytes`: 1 MiB, about 8,000 small events. A smaller log could drop
 * events in the time one checkpoint takes under any real load; size a production log to
 * hold well over ten checkpoint intervals of the peak event rate.
 */
export const LOG_MAX_BYTES_FLOOR = 1024 * 1024;

/** Smallest `--dlq-max-age`: JetStream needs a max age of at least 100 ms; a second keeps it sane. */
export const DLQ_MAX_AGE_FLOOR_MS = 1000;

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * Parses a size: plain bytes (`1048576`) or a number with a unit, SI (`KB`, `MB`, `GB`,
 * `TB`: powers of 1000) or IEC (`KiB`, `MiB`, `GiB`, `TiB`: powers of 1024), any case,
 * e.g. `500MB`, `10GiB`, `1.5GiB` (rounded down to whole bytes). Throws `BAD_OPTION`
 * naming `what` otherwise. A few lines rather than a dependency: the `bytes` package
 * reads `MB` as 2^20, which would make `500MB` mean something else here than in
 * JetStream's own tools.
 */
export function parseSize(text: string, what: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? SIZE_UNITS[(m[2] || "b").toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new NodeError(
      "BAD_OPTION",
      `${what}: ${JSON.stringify(text)} is not a size; use bytes or a number with a unit, e.g. 500MB, 10GiB, 1048576`,
    );
  }
  return bytes;
}

/** Formats bytes in the largest IEC unit that divides them: `10GiB`, `1MiB`, `1500B`. */
export function formatSize(bytes: number): string {
  for (const unit of ["TiB", "GiB", "MiB", "KiB"] as const) {
    const size = SIZE_UNITS[unit.toLowerCase()]!;
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}

/** The events stream's bounds, as `tally init` sets them; undefined means unlimited. */
export interface LogLimits {
  /** Events older than this leave the log (JetStream `max_age`), in ms. */
  maxAgeMs: number | undefined;
  /** The log keeps at most this many bytes, dropping its oldest events (`max_bytes`). */
  maxBytes: number | undefined;
}

/** Longest checkpoint interval a log with max age `maxAgeMs` allows. */
export function longestCheckpointInterval(maxAgeMs: number): number {
  return Math.floor(maxAgeMs / CHECKPOINTS_IN_LOG);
}

/**
 * Refuses log limits so tight that events could leave the log before any checkpoint
 * holds them: a max age under {@link CHECKPOINTS_IN_LOG} checkpoint intervals, or a size
 * under {@link LOG_MAX_BYTES_FLOOR}. `checkpointIntervalMs` is the longest interval any
 * node of the cluster uses (what init states, or what a live node reports).
 */
export function checkLogLimits(limits: LogLimits, checkpointIntervalMs: number, intervalSource: string): void {
  if (limits.maxAgeMs !== undefined && limits.maxAgeMs < CHECKPOINTS_IN_LOG * checkpointIntervalMs) {
    const need = CHECKPOINTS_IN_LOG * checkpointIntervalMs;
    throw new NodeError(
      "BAD_OPTION",
      `--log-max-age ${formatDuration(limits.maxAgeMs)} is under ${CHECKPOINTS_IN_LOG} checkpoint intervals ` +
        `(${CHECKPOINTS_IN_LOG} × ${checkpointIntervalMs} ms, ${intervalSource}): events could leave the log before a ` +
        `checkpoint holds them and their counts would be lost. Use --log-max-age ${formatDuration(need)} or more, or a ` +
        `shorter --checkpoint-interval (and start every node with it)`,
    );
  }
  if (limits.maxBytes !== undefined && limits.maxBytes < LOG_MAX_BYTES_FLOOR) {
    throw new NodeError(
      "BAD_OPTION",
      `--log-max-bytes ${limits.maxBytes} is under the floor of ${formatSize(LOG_MAX_BYTES_FLOOR)} ` +
        `(${LOG_MAX_BYTES_FLOOR} bytes): such a log could drop events before a checkpoint holds them. ` +
        `Size it to hold well over ${CHECKPOINTS_IN_LOG} checkpoint intervals of your peak event rate`,
    );
  }
}

/**
 * Refuses to start a node whose checkpoint interval is too long for the events
 * stream's max age (`maxAgeNs`, JetStream's nanoseconds; 0 is unlimited).
 */
export function checkNodeCheckpointInterval(checkpointIntervalMs: number, maxAgeNs: number): void {
  if (maxAgeNs <= 0) return;
  const maxAgeMs = Math.floor(maxAgeNs / 1_000_000);
  const longest = longestCheckpointInterval(maxAgeMs);
  if (checkpointIntervalMs > longest) {
    throw new NodeError(
      "BAD_OPTION",
      `checkpointIntervalMs ${checkpointIntervalMs} is longer than a ${CHECKPOINTS_IN_LOG}th of the event log's max age ` +
        `(${formatDuration(maxAgeMs)}): events could leave the log before this node checkpoints them. Start it with ` +
        `--checkpoint-interval ${longest} or less, or raise the limit with \`tally init --log-max-age\``,
    );
  }
}
