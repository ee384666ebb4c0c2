import { ErrorCode, EventError, preview } from "./errors.js";
import { MS_PER_DAY, daysFromCivil, daysInMonth } from "./civil-date.js";

/** Earliest accepted event time: 1970-01-01T00:00:00.000Z. */
export const MIN_TS_MS = 0;

/** Latest accepted event time: 9999-12-31T23:59:59.999Z. */
export const MAX_TS_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

// Calendar date, optionally with a time (minutes, seconds and fraction optional) and an
// offset. Strict on purpose: `Date.parse` accepts far too much ("yesterday" is not, but
// "1 2 3" is, depending on the engine).
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?$/;

function outOfRange(v: unknown, what: string): EventError {
  return new EventError(
    ErrorCode.TS_OUT_OF_RANGE,
    `${what} ${preview(v)} is outside 1970-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z`,
  );
}

function badTs(v: unknown, what: string, why: string): EventError {
  return new EventError(ErrorCode.BAD_TS, `${what} ${preview(v)} ${why}`);
}

function checkRange(ms: number, v: unknown, what: string): number {
  if (ms < MIN_TS_MS || ms > MAX_TS_MS) throw outOfRange(v, what);
  return ms === 0 ? 0 : ms; // no -0
}

function parseIso(s: string, what: string): number {
  const m = ISO_8601.exec(s);
  if (m === null) {
    throw badTs(s, what, "is not an ISO-8601 date or date-time (e.g. 2026-11-21 or 2026-11-21T10:00:00Z)");
  }
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const h = m[4] === undefined ? 0 : Number(m[4]);
  const mi = m[5] === undefined ? 0 : Number(m[5]);
  const sec = m[6] === undefined ? 0 : Number(m[6]);
  // Sub-millisecond digits are truncated, as Date does.
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0"));
  const off = m[8];
  let offMin = 0;
  if (off !== undefined && off !== "Z") {
    const oh = Number(off.slice(1, 3));
    const om = Number(off.slice(4, 6));
    if (oh > 23 || om > 59) throw badTs(s, what, "has an invalid UTC offset");
    offMin = (off[0] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) {
    throw badTs(s, what, "is not a valid calendar date and time");
  }
  return daysFromCivil(y, mo, d) * MS_PER_DAY + ((h * 60 + mi - offMin) * 60 + sec) * 1000 + ms;
}

/**
 * Parse an event or request time into epoch milliseconds.
 *
 * Accepts an integer number of epoch milliseconds, a `bigint` of them (MessagePack
 * uint64), a valid `Date` (MessagePack timestamp), or a strict ISO-8601 string: a date
 * (`2026-11-21`, midnight UTC) or a date-time with optional seconds and fraction
 * (`2026-11-21T10:00Z`, `2026-11-21T10:00:00.123+01:00`). A date-time without an offset is
 * taken as UTC, never local time. Numeric strings are not accepted.
 *
 * Throws `EventError`: `BAD_TS` for a wrong type, a non-integer, NaN or an unparseable
 * string; `TS_OUT_OF_RANGE` for a time outside {@link MIN_TS_MS}..{@link MAX_TS_MS}.
 *
 * @param what - names the field in error messages, e.g. `"ts"` or `"from"`.
 */
export function parseTime(v: unknown, what: string): number {
  switch (typeof v) {
    case "number":
      if (Number.isNaN(v)) throw badTs(v, what, "is not a number");
      if (v < MIN_TS_MS || v > MAX_TS_MS) throw outOfRange(v, what);
      if (!Number.isInteger(v)) throw badTs(v, what, "is not an integer number of milliseconds");
      return v === 0 ? 0 : v;
    case "bigint":
      if (v < BigInt(MIN_TS_MS) || v > BigInt(MAX_TS_MS)) throw outOfRange(v, what);
      return Number(v);
    case "string":
      return checkRange(parseIso(v, what), v, what);
    case "object":
      if (v instanceof Date) {
        const ms = v.getTime();
        if (Number.isNaN(ms)) throw badTs(v, what, "is an invalid date");
        return checkRange(ms, v, what);
      }
      break;
  }
  throw badTs(v, what, "must be epoch milliseconds or an ISO-8601 string");
}
