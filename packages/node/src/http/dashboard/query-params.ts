import {
  ErrorCode,
  isPeriod,
  isValidToken,
  parseTime,
  RequestError,
  type BucketPeriod,
  type Period,
} from "@tally/core";

/**
 * Reading and checking the dashboard API's query parameters. A bad one is a
 * `RequestError` `BAD_REQUEST` (or `BAD_TS` for a time) naming the parameter and what it
 * accepts, which the routes answer with 400: the same error shape as the read subjects.
 */

/** A required namespace: one NATS token (`?ns=web`). */
export function nsParam(q: URLSearchParams): string {
  const ns = required(q, "ns");
  if (!isValidToken(ns))
    throw bad(`"ns" must be one NATS token (1-255 bytes, no '.', '*', '>' or whitespace), got ${JSON.stringify(ns)}`);
  return ns;
}

/** A required counter name (decoded: the client percent-encodes dots). */
export function nameParam(q: URLSearchParams): string {
  const name = required(q, "name");
  if (Buffer.byteLength(name) > 255) throw bad(`"name" is longer than 255 bytes`);
  return name;
}

/** A period (`?period=day`); `fallback` when absent. */
export function periodParam(q: URLSearchParams, fallback: Period): Period {
  const p = q.get("period");
  if (p === null || p === "") return fallback;
  if (!isPeriod(p)) throw bad(`"period" must be all, minute, hour, day, week, month or year, got ${JSON.stringify(p)}`);
  return p;
}

/** A bucket period (not `all`), for a series. */
export function bucketPeriodParam(q: URLSearchParams, fallback: BucketPeriod): BucketPeriod {
  const p = periodParam(q, fallback);
  if (p === "all") throw bad(`a series needs a "period" other than all, e.g. day`);
  return p;
}

/**
 * A time (`?at=2026-11-21T10:00Z` or epoch ms); undefined when absent or empty (now).
 * @throws `EventError` `BAD_TS` / `TS_OUT_OF_RANGE` for a time that does not parse
 */
export function timeParam(q: URLSearchParams, key: string): number | undefined {
  const v = q.get(key)?.trim();
  if (v === undefined || v === "" || v === "now") return undefined;
  return parseTime(/^-?\d+$/.test(v) ? Number(v) : v, key);
}

/** An integer in `min..max`; `fallback` when absent. */
export function intParam(q: URLSearchParams, key: string, min: number, max: number, fallback: number): number {
  const v = q.get(key);
  if (v === null || v === "") return fallback;
  const n = /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw bad(`"${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

function required(q: URLSearchParams, key: string): string {
  const v = q.get(key);
  if (v === null || v === "") throw bad(`query parameter "${key}" is required`);
  return v;
}

function bad(message: string): RequestError {
  return new RequestError(ErrorCode.BAD_REQUEST, message);
}
