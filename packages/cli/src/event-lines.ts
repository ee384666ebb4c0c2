import { TallyError, parseTime } from "@tally/core";

/** One event from a line of `tally inc --stdin`. */
export interface LineEvent {
  ns: string;
  name: string;
  delta: number;
  /** Epoch ms or ISO-8601, as written; absent: the time the line is read. */
  ts?: number | string;
}

/** A line that cannot be counted, and why. */
export interface BadLine {
  /** 1-based line number in the input. */
  line: number;
  /** `BAD_LINE` (wrong number of fields), or the event error's code (`BAD_DELTA`, `BAD_TS`, `BAD_SUBJECT`, …). */
  code: string;
  message: string;
  /** The line itself, cut to {@link BAD_TEXT_CHARS} characters. */
  text: string;
}

/** What a line holds: an event, nothing (blank or `#` comment), or a mistake. */
export type ParsedLine =
  { kind: "event"; event: LineEvent } | { kind: "skip" } | { kind: "bad"; code: string; message: string };

/** Code of a line with the wrong number of fields. */
export const BAD_LINE = "BAD_LINE";

/** How much of a bad line a report quotes. */
export const BAD_TEXT_CHARS = 120;

const INTEGER = /^[+-]?\d+$/;

/**
 * Parses one input line of `tally inc --stdin`: `ns name [delta] [ts]`, fields separated
 * by spaces or tabs. `delta` is a signed integer (default 1); `ts` epoch ms or ISO-8601
 * (default: when read). Blank lines and lines starting with `#` hold nothing. The delta
 * and time are checked here; the namespace and name by the client when the event is added.
 *
 * @example
 * ```ts
 * parseEventLine("web example.com 5 2026-11-20T10:00:00Z")
 * // { kind: "event", event: { ns: "web", name: "example.com", delta: 5, ts: "2026-11-20T10:00:00Z" } }
 * ```
 */
export function parseEventLine(line: string): ParsedLine {
  const text = line.trim();
  if (text === "" || text.startsWith("#")) return { kind: "skip" };
  const f = text.split(/\s+/);
  if (f.length < 2 || f.length > 4)
    return {
      kind: "bad",
      code: BAD_LINE,
      message: `expected "ns name [delta] [ts]", got ${f.length} field${f.length === 1 ? "" : "s"}`,
    };
  const [ns, name, deltaText, tsText] = f as [string, string, string?, string?];
  let delta = 1;
  if (deltaText !== undefined) {
    if (!INTEGER.test(deltaText)) {
      const looksLikeTime = tsText === undefined && /^\d{4}-\d\d/.test(deltaText);
      return {
        kind: "bad",
        code: "BAD_DELTA",
        message:
          `delta ${JSON.stringify(deltaText)} is not an integer` +
          (looksLikeTime ? ' (a time goes after the delta: "ns name 1 TIME")' : ""),
      };
    }
    delta = Number(deltaText);
    if (!Number.isSafeInteger(delta))
      return { kind: "bad", code: "DELTA_OUT_OF_RANGE", message: `delta ${deltaText} is beyond ±2^53-1` };
  }
  const event: LineEvent = { ns, name, delta };
  if (tsText !== undefined) {
    const ts = INTEGER.test(tsText) ? Number(tsText) : tsText;
    try {
      parseTime(ts, "ts");
    } catch (err) {
      if (err instanceof TallyError) return { kind: "bad", code: err.code, message: err.message };
      throw err;
    }
    event.ts = ts;
  }
  return { kind: "event", event };
}
