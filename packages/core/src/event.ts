import { Unpackr } from "msgpackr";
import { ErrorCode, EventError, preview } from "./errors.js";
import { isPlainRecord, messageOf } from "./guards.js";
import { parseTime } from "./time.js";
import { strictUtf8Decoder, utf8Encoder } from "./utf8.js";

/**
 * Largest accepted event body, in bytes; a bigger one is `BODY_TOO_LARGE`, refused before
 * any parsing. A valid body needs under 100 bytes (`{"delta":-9007199254740991,"ts":
 * "2026-11-21T00:00:00.000+05:30"}` is 64), but JSON and MessagePack maps may carry other
 * keys, which are ignored: 4 KiB leaves producers room for some context while bounding
 * what one stored event costs to parse (a shard parses in line with its reads), and it is
 * what a dead-letter record keeps of a body, so a refused body under the limit is kept whole.
 */
export const MAX_EVENT_BYTES = 4096;

/** An event body, decoded and validated. */
export interface DecodedEvent {
  /** Amount to add to the counter: a safe integer, possibly 0 or negative. */
  delta: number;
  /** Event time in epoch ms, or undefined to use the stored message's timestamp. */
  ts: number | undefined;
}

// Big integers must come out as bigint, not as a silently rounded number; maps as plain
// objects (msgpackr renames a `__proto__` key, so no prototype pollution).
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "bigint" });
const lenientDecoder = new TextDecoder("utf-8");

const PLUS = 0x2b;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_BRACE = 0x7b;

/** ASCII whitespace: tab, LF, VT, FF, CR, space. */
function isSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= ZERO && b <= NINE;
}

function isMsgpackMap(b: number): boolean {
  return (b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf;
}

/** Printable, truncated view of raw bytes for error messages. */
function previewBytes(bytes: Uint8Array): string {
  return preview(lenientDecoder.decode(bytes.subarray(0, 64)));
}

/**
 * Decode and validate an event body (see the wire contract):
 *
 * - empty → `{ delta: 1, ts: undefined }`;
 * - an ASCII signed integer, optionally surrounded by ASCII whitespace (`5`, `-2`, `+3\n`);
 * - a JSON object (first non-whitespace byte `{`) or a MessagePack map (first byte fixmap,
 *   map16 or map32) with optional `delta` (integer, default 1) and `ts` (see
 *   {@link parseTime}; MessagePack may also carry a uint64/int64 or a timestamp). Other
 *   keys are ignored.
 *
 * Throws `EventError` with code:
 * - `BODY_TOO_LARGE`: larger than {@link MAX_EVENT_BYTES} (not parsed at all);
 * - `BAD_BODY`: whitespace only, or any other shape —
 *   including JSON that is not an object (`[1]`, `"5"`, `true`, `null`) and MessagePack that
 *   is not a map (e.g. a fixarray), since only objects carry fields;
 * - `BAD_JSON`: starts with `{` but is not valid UTF-8 or not valid JSON;
 * - `BAD_MSGPACK`: starts like a MessagePack map but is malformed, truncated, or followed by
 *   extra bytes;
 * - `BAD_DELTA`: text that starts like a number but is not an integer literal (`1.5`, `1e3`,
 *   `0x10`), a JSON `delta` not written as an integer literal `-?(0|[1-9][0-9]*)` (`1.0`,
 *   `1e3`, `1.0000000000000001`: JSON.parse would round them to integers), or a `delta` field
 *   that is not an integer (fraction, NaN, string, bool, null);
 * - `DELTA_OUT_OF_RANGE`: an integer (or a `delta` number, Infinity included, however it is
 *   written: `1e400`) beyond ±`Number.MAX_SAFE_INTEGER`;
 * - `BAD_TS` / `TS_OUT_OF_RANGE`: from {@link parseTime} on the `ts` field.
 *
 * A field set to `undefined` (MessagePack's undefined extension) counts as absent; `null`
 * does not.
 */
export function decodeEvent(body: Uint8Array): DecodedEvent {
  const len = body.length;
  if (len === 0) return { delta: 1, ts: undefined };
  if (len > MAX_EVENT_BYTES) {
    throw new EventError(
      ErrorCode.BODY_TOO_LARGE,
      `event body is ${len} bytes, over the limit of ${MAX_EVENT_BYTES}; a valid body needs under 100`,
    );
  }
  const first = body[0] as number;
  if (isMsgpackMap(first)) return decodeMsgpack(body);

  let start = 0;
  while (start < len && isSpace(body[start] as number)) start++;
  let end = len;
  while (end > start && isSpace(body[end - 1] as number)) end--;
  if (start === end) {
    throw new EventError(ErrorCode.BAD_BODY, "event body is only whitespace; send an empty body to count +1");
  }
  const c = body[start] as number;
  if (c === OPEN_BRACE) return decodeJson(body.subarray(start, end));
  if (isDigit(c) || ((c === PLUS || c === MINUS) && isDigit(body[start + 1]))) {
    return { delta: decodeInteger(body, start, end), ts: undefined };
  }
  throw new EventError(
    ErrorCode.BAD_BODY,
    `event body ${previewBytes(body)} is not empty, an integer, a JSON object or a MessagePack map`,
  );
}

function decodeInteger(body: Uint8Array, start: number, end: number): number {
  const c = body[start] as number;
  const negative = c === MINUS;
  let i = c === PLUS || c === MINUS ? start + 1 : start;
  let value = 0;
  for (; i < end; i++) {
    const b = body[i] as number;
    if (b < ZERO || b > NINE) {
      throw new EventError(ErrorCode.BAD_DELTA, `delta ${previewBytes(body.subarray(start, end))} is not an integer`);
    }
    // Rounding once past 2^53 cannot bring the value back under it, so the check below is exact.
    value = value * 10 + (b - ZERO);
  }
  if (value > Number.MAX_SAFE_INTEGER) {
    throw new EventError(
      ErrorCode.DELTA_OUT_OF_RANGE,
      `delta ${previewBytes(body.subarray(start, end))} is beyond ±${Number.MAX_SAFE_INTEGER}`,
    );
  }
  return negative && value !== 0 ? -value : value;
}

function decodeJson(bytes: Uint8Array): DecodedEvent {
  let text: string;
  try {
    text = strictUtf8Decoder.decode(bytes);
  } catch (cause) {
    throw new EventError(ErrorCode.BAD_JSON, "JSON event body is not valid UTF-8", { cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new EventError(ErrorCode.BAD_JSON, `JSON event body ${preview(text)} does not parse: ${messageOf(cause)}`, {
      cause,
    });
  }
  if (!isPlainRecord(value)) {
    throw new EventError(ErrorCode.BAD_JSON, `JSON event body ${preview(text)} is not an object`);
  }
  // JSON.parse has already rounded the number (1.0000000000000001 → 1), so whether `delta`
  // was written as an integer can only be told from its source text. A number beyond the
  // safe range is left to toDelta, which calls it DELTA_OUT_OF_RANGE however it is written.
  const d = Object.hasOwn(value, "delta") ? value["delta"] : undefined;
  if (typeof d === "number" && Math.abs(d) <= Number.MAX_SAFE_INTEGER) {
    const literal = topLevelValueText(text, "delta");
    if (literal === undefined || !INTEGER_LITERAL.test(literal)) {
      // The literal is a JSON number token: printable as is, only its length needs a bound.
      const shown = literal === undefined ? preview(d) : literal.length > 60 ? `${literal.slice(0, 60)}…` : literal;
      throw new EventError(
        ErrorCode.BAD_DELTA,
        `delta ${shown} is written with a fraction or exponent, not as an integer`,
      );
    }
  }
  return fields(value);
}

/** A JSON number written as an integer: no fraction, no exponent. */
const INTEGER_LITERAL = /^-?(?:0|[1-9][0-9]*)$/;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** JSON whitespace: space, tab, LF, CR. */
function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Source text of the value of top-level key `key` in `text`, a JSON object that
 * `JSON.parse` has accepted; undefined when the key is absent. Matches `JSON.parse`:
 * keys compare after unescaping (`"\u0064elta"` is `delta`) and the last of duplicate
 * keys wins. Throws (a bug, never input) if `text` is not such an object.
 */
function topLevelValueText(text: string, key: string): string | undefined {
  let found: string | undefined;
  let i = skipJsonSpace(text, 0);
  expectChar(text, i, OPEN_BRACE);
  i = skipJsonSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) return undefined;
  for (;;) {
    const keyEnd = skipJsonString(text, i);
    const rawKey = text.slice(i, keyEnd);
    const k = rawKey.includes("\\") ? (JSON.parse(rawKey) as string) : rawKey.slice(1, -1);
    i = skipJsonSpace(text, keyEnd);
    expectChar(text, i, COLON);
    const valueStart = skipJsonSpace(text, i + 1);
    const valueEnd = skipJsonValue(text, valueStart);
    if (k === key) found = text.slice(valueStart, valueEnd);
    i = skipJsonSpace(text, valueEnd);
    if (text.charCodeAt(i) === CLOSE_BRACE) return found;
    expectChar(text, i, COMMA);
    i = skipJsonSpace(text, i + 1);
  }
}

function expectChar(text: string, i: number, c: number): void {
  if (text.charCodeAt(i) !== c) {
    throw new Error(`JSON scanner: expected ${String.fromCharCode(c)} at ${i} of ${preview(text)}`);
  }
}

function skipJsonSpace(text: string, i: number): number {
  while (i < text.length && isJsonSpace(text.charCodeAt(i))) i++;
  return i;
}

/** Index just past the string starting at `i` (its opening quote). */
function skipJsonString(text: string, i: number): number {
  expectChar(text, i, QUOTE);
  for (i++; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH)
      i++; // the escaped character, or the `u` of \uXXXX (hex digits are plain)
    else if (c === QUOTE) return i + 1;
  }
  throw new Error(`JSON scanner: unterminated string in ${preview(text)}`);
}

/** Index just past the value starting at `i`: a string, an object or array, or a literal. */
function skipJsonValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return skipJsonString(text, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    while (i < text.length) {
      const b = text.charCodeAt(i);
      if (b === QUOTE) {
        i = skipJsonString(text, i);
        continue;
      }
      if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) depth--;
      i++;
      if (depth === 0) return i;
    }
    throw new Error(`JSON scanner: unterminated object or array in ${preview(text)}`);
  }
  // A number, true, false or null: runs to the next delimiter.
  const start = i;
  while (i < text.length) {
    const b = text.charCodeAt(i);
    if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET || isJsonSpace(b)) break;
    i++;
  }
  if (i === start) throw new Error(`JSON scanner: no value at ${start} of ${preview(text)}`);
  return i;
}

function decodeMsgpack(body: Uint8Array): DecodedEvent {
  let value: unknown;
  try {
    value = unpackr.unpack(body);
  } catch (cause) {
    throw new EventError(ErrorCode.BAD_MSGPACK, `MessagePack event body is malformed: ${messageOf(cause)}`, { cause });
  }
  if (!isPlainRecord(value)) {
    throw new EventError(ErrorCode.BAD_MSGPACK, `MessagePack event body ${preview(value)} is not a map`);
  }
  return fields(value);
}

function fields(obj: Record<string, unknown>): DecodedEvent {
  const d = Object.hasOwn(obj, "delta") ? obj["delta"] : undefined;
  const t = Object.hasOwn(obj, "ts") ? obj["ts"] : undefined;
  return {
    delta: d === undefined ? 1 : toDelta(d),
    ts: t === undefined ? undefined : parseTime(t, "ts"),
  };
}

/** Validate a `delta` field value: a safe integer number or bigint. */
function toDelta(v: unknown): number {
  if (typeof v === "number") {
    if (Number.isNaN(v)) throw new EventError(ErrorCode.BAD_DELTA, "delta NaN is not an integer");
    if (Math.abs(v) > Number.MAX_SAFE_INTEGER) {
      throw new EventError(ErrorCode.DELTA_OUT_OF_RANGE, `delta ${preview(v)} is beyond ±${Number.MAX_SAFE_INTEGER}`);
    }
    if (!Number.isInteger(v)) {
      throw new EventError(ErrorCode.BAD_DELTA, `delta ${preview(v)} is not an integer`);
    }
    return v === 0 ? 0 : v;
  }
  if (typeof v === "bigint") {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new EventError(ErrorCode.DELTA_OUT_OF_RANGE, `delta ${preview(v)} is beyond ±${Number.MAX_SAFE_INTEGER}`);
    }
    return Number(v);
  }
  throw new EventError(ErrorCode.BAD_DELTA, `delta ${preview(v)} must be an integer number`);
}

/**
 * Encode an event as a JSON body, `{"delta":…,"ts":…}` (`ts` omitted when undefined, else
 * as epoch ms). Validates like {@link decodeEvent}, so a body it returns always decodes;
 * throws `EventError` otherwise.
 *
 * @param ts - epoch ms, an ISO-8601 string or a Date.
 */
export function encodeEventJson(delta: number, ts?: number | string | Date): Uint8Array {
  const d = toDelta(delta);
  const body = ts === undefined ? { delta: d } : { delta: d, ts: parseTime(ts, "ts") };
  return utf8Encoder.encode(JSON.stringify(body));
}

/**
 * Encode an event as the smallest body that decodes to it: empty for +1 without `ts`, the
 * ASCII integer for any other delta without `ts`, else {@link encodeEventJson}. Validates
 * like {@link decodeEvent}, so a body it returns always decodes; throws `EventError`
 * (`BAD_DELTA`, `DELTA_OUT_OF_RANGE`, `BAD_TS`, `TS_OUT_OF_RANGE`) otherwise.
 *
 * @param delta - a safe integer. @default 1
 * @param ts - event time: epoch ms, an ISO-8601 string or a Date. @default the time JetStream stores it
 *
 * @example
 * ```ts
 * encodeEvent() // empty body: +1
 * encodeEvent(-2) // "-2"
 * encodeEvent(5, "2026-11-21") // {"delta":5,"ts":1795219200000}
 * ```
 */
export function encodeEvent(delta = 1, ts?: number | string | Date): Uint8Array {
  if (ts !== undefined) return encodeEventJson(delta, ts);
  const d = toDelta(delta);
  return d === 1 ? new Uint8Array(0) : utf8Encoder.encode(String(d));
}
