import { ErrorCode, RequestError, TallyError, preview } from "./errors.js";
import { isPlainRecord, messageOf } from "./guards.js";
import type { Period } from "./periods.js";
import { PERIODS, isPeriod } from "./periods.js";
import { parseTime } from "./time.js";
import { strictUtf8Decoder } from "./utf8.js";

/** Largest accepted read request body, in bytes. */
export const MAX_READ_REQUEST_BYTES = 4096;

/** Read of the one bucket of `period` that contains time `at` (for `all`, the all-time value). */
export interface ValueRequest {
  kind: "value";
  period: Period;
  /** Epoch ms; the request's receipt time when not given. */
  at: number;
  /** Reply only once every event with stream sequence ≤ `minSeq` is applied. */
  minSeq?: number;
}

/** Read of every bucket of `period` from the one containing `from` to the one containing `to`. */
export interface SeriesRequest {
  kind: "series";
  /** Never `all` (the parser rejects it); narrow with `period !== 'all'` before bucketing. */
  period: Period;
  /** Epoch ms, ≤ `to`. */
  from: number;
  /** Epoch ms. */
  to: number;
  /** Reply only once every event with stream sequence ≤ `minSeq` is applied. */
  minSeq?: number;
}

/** A parsed `count.get.<ns>.<name>` request. */
export type ReadRequest = ValueRequest | SeriesRequest;

const KEYS: ReadonlySet<string> = new Set(["period", "at", "from", "to", "minSeq"]);
const SHAPE = '{"period":"day","at":…} or {"period":"day","from":…,"to":…}';

function bad(message: string, cause?: unknown): RequestError {
  return new RequestError(ErrorCode.BAD_REQUEST, message, cause === undefined ? undefined : { cause });
}

function isSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

function time(obj: Record<string, unknown>, key: string): number {
  try {
    return parseTime(obj[key], key);
  } catch (err) {
    throw err instanceof TallyError ? bad(err.message, err) : err;
  }
}

/**
 * Parse the body of a read request.
 *
 * An empty or whitespace-only body reads the all-time value. Otherwise the body must be a
 * JSON object with only these keys:
 * - `period`: a {@link Period} (default `all`);
 * - `at`: a time (see {@link parseTime}; default `now`) → a `value` request;
 * - `from` and `to`, both, not with `at`, and not for period `all` → a `series` request;
 * - `minSeq`: a non-negative safe integer stream sequence.
 *
 * With period `all`, `at` is accepted and has no effect. Whether the period is enabled for
 * the namespace and how many points a series may have are checked by the node.
 * Throws `RequestError` `BAD_REQUEST` with a message naming the offending key.
 *
 * @param now - epoch ms used when `at` is absent.
 */
export function parseReadRequest(body: Uint8Array, now: number): ReadRequest {
  let start = 0;
  let end = body.length;
  while (start < end && isSpace(body[start] as number)) start++;
  while (end > start && isSpace(body[end - 1] as number)) end--;
  if (start === end) return { kind: "value", period: "all", at: now };
  if (body.length > MAX_READ_REQUEST_BYTES) {
    throw bad(`read request is ${body.length} bytes, the limit is ${MAX_READ_REQUEST_BYTES}`);
  }

  let value: unknown;
  try {
    value = JSON.parse(strictUtf8Decoder.decode(body.subarray(start, end)));
  } catch (cause) {
    throw bad(`read request must be empty or a JSON object such as ${SHAPE}: ${messageOf(cause)}`, cause);
  }
  if (!isPlainRecord(value)) {
    throw bad(`read request must be empty or a JSON object such as ${SHAPE}, got ${preview(value)}`);
  }

  const obj: Record<string, unknown> = value;
  for (const key of Object.keys(obj)) {
    if (!KEYS.has(key)) {
      throw bad(`unknown key ${preview(key)} in read request; allowed keys: ${[...KEYS].join(", ")}`);
    }
  }

  const has = (key: string): boolean => Object.hasOwn(obj, key);
  let period: Period = "all";
  if (has("period")) {
    const p = obj["period"];
    if (!isPeriod(p)) throw bad(`period ${preview(p)} is not one of ${PERIODS.join(", ")}`);
    period = p;
  }

  let minSeq: number | undefined;
  if (has("minSeq")) {
    const s = obj["minSeq"];
    if (typeof s !== "number" || !Number.isSafeInteger(s) || s < 0) {
      throw bad(`minSeq ${preview(s)} must be a non-negative integer stream sequence`);
    }
    minSeq = s === 0 ? 0 : s;
  }

  if (has("from") || has("to")) {
    if (!has("from") || !has("to")) throw bad('a series needs both "from" and "to"');
    if (has("at")) throw bad('use either "at" (one bucket) or "from" and "to" (a series), not both');
    if (period === "all") {
      throw bad('period "all" has a single bucket; give a period such as "day" for a series');
    }
    const from = time(obj, "from");
    const to = time(obj, "to");
    if (from > to) throw bad(`"from" (${preview(obj["from"])}) is after "to" (${preview(obj["to"])})`);
    const req: SeriesRequest = { kind: "series", period, from, to };
    if (minSeq !== undefined) req.minSeq = minSeq;
    return req;
  }

  const at = has("at") ? time(obj, "at") : now;
  const req: ValueRequest = { kind: "value", period, at };
  if (minSeq !== undefined) req.minSeq = minSeq;
  return req;
}
