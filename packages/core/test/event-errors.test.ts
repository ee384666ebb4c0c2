import test from "ava";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { ErrorCode, EventError, MAX_EVENT_BYTES, MAX_TS_MS, decodeEvent } from "../src/index.js";
import { bytes, codeOf, hex, key, mp, text } from "./helpers/event-bodies.js";

// Bodies decodeEvent refuses, each with its code; decoding valid bodies is in event.test.ts.
const malformed: [string, Uint8Array, string][] = [
  // Plain text and other non-forms.
  ["whitespace only", text(" "), ErrorCode.BAD_BODY],
  ["newline only", text("\n"), ErrorCode.BAD_BODY],
  ["NUL", text("\u0000"), ErrorCode.BAD_BODY],
  ["word", text("abc"), ErrorCode.BAD_BODY],
  ["double minus", text("--1"), ErrorCode.BAD_BODY],
  ["sign only", text("-"), ErrorCode.BAD_BODY],
  ["NaN", text("NaN"), ErrorCode.BAD_BODY],
  ["Infinity", text("Infinity"), ErrorCode.BAD_BODY],
  ["-Infinity", text("-Infinity"), ErrorCode.BAD_BODY],
  ["leading dot", text(".5"), ErrorCode.BAD_BODY],
  ["JSON array", text("[1]"), ErrorCode.BAD_BODY],
  ["JSON string", text('"5"'), ErrorCode.BAD_BODY],
  ["JSON true", text("true"), ErrorCode.BAD_BODY],
  ["JSON null", text("null"), ErrorCode.BAD_BODY],
  ["invalid UTF-8 text", bytes(0xff, 0xfe), ErrorCode.BAD_BODY],
  ["BOM then JSON", bytes(0xef, 0xbb, 0xbf, ...text("{}")), ErrorCode.BAD_BODY],
  ["msgpack fixarray", bytes(0x91, 0x01), ErrorCode.BAD_BODY],
  ["msgpack array16", bytes(0xdc, 0x00, 0x01, 0x01), ErrorCode.BAD_BODY],
  ["msgpack positive int is not text", bytes(0x05), ErrorCode.BAD_BODY],
  ["msgpack str", mp("5"), ErrorCode.BAD_BODY],
  ["msgpackr record", new Packr().pack({ delta: 5 }), ErrorCode.BAD_BODY],
  ["too large", new Uint8Array(MAX_EVENT_BYTES + 1).fill(0x31), ErrorCode.BODY_TOO_LARGE],
  ["too large JSON", text(`{"delta":1,"pad":"${"x".repeat(MAX_EVENT_BYTES)}"}`), ErrorCode.BODY_TOO_LARGE],
  ["too large garbage", new Uint8Array(MAX_EVENT_BYTES + 1).fill(0xff), ErrorCode.BODY_TOO_LARGE],
  // Text that starts like a number but is not an integer literal.
  ["fraction", text("1.5"), ErrorCode.BAD_DELTA],
  ["exponent", text("1e3"), ErrorCode.BAD_DELTA],
  ["huge exponent", text("1e400"), ErrorCode.BAD_DELTA],
  ["hex", text("0x10"), ErrorCode.BAD_DELTA],
  ["digits then garbage", text("12abc"), ErrorCode.BAD_DELTA],
  ["inner space", text("1 2"), ErrorCode.BAD_DELTA],
  ["trailing NUL", text("5\u0000"), ErrorCode.BAD_DELTA],
  ["thousands separator", text("1,000"), ErrorCode.BAD_DELTA],
  ["sign then space", text("+ 1"), ErrorCode.BAD_BODY],
  // Integers too large.
  ["2^53", text("9007199254740992"), ErrorCode.DELTA_OUT_OF_RANGE],
  ["-2^53", text("-9007199254740992"), ErrorCode.DELTA_OUT_OF_RANGE],
  ["40 digits", text("1".repeat(40)), ErrorCode.DELTA_OUT_OF_RANGE],
  ["400 digits", text("9".repeat(400)), ErrorCode.DELTA_OUT_OF_RANGE],
  // JSON.
  ["invalid UTF-8 in JSON", bytes(...text('{"delta":1,"x":"'), 0xc3, 0x28, ...text('"}')), ErrorCode.BAD_JSON],
  ["truncated JSON", text('{"delta":1'), ErrorCode.BAD_JSON],
  ["trailing garbage JSON", text('{"delta":1} x'), ErrorCode.BAD_JSON],
  ["two objects", text("{}{}"), ErrorCode.BAD_JSON],
  ["single quotes", text("{'delta':1}"), ErrorCode.BAD_JSON],
  ["NaN literal in JSON", text('{"delta":NaN}'), ErrorCode.BAD_JSON],
  ["Infinity literal in JSON", text('{"delta":Infinity}'), ErrorCode.BAD_JSON],
  ["JSON delta string", text('{"delta":"5"}'), ErrorCode.BAD_DELTA],
  ["JSON delta fraction", text('{"delta":1.5}'), ErrorCode.BAD_DELTA],
  ["JSON delta bool", text('{"delta":true}'), ErrorCode.BAD_DELTA],
  ["JSON delta null", text('{"delta":null}'), ErrorCode.BAD_DELTA],
  ["JSON delta object", text('{"delta":{"n":1}}'), ErrorCode.BAD_DELTA],
  ["JSON delta array", text('{"delta":[1]}'), ErrorCode.BAD_DELTA],
  // A JSON delta must be written as an integer literal: JSON.parse would round these to one.
  ["JSON delta 1.0", text('{"delta":1.0}'), ErrorCode.BAD_DELTA],
  ["JSON delta 5.0", text('{"delta":5.0}'), ErrorCode.BAD_DELTA],
  ["JSON delta 1.0000000000000001", text('{"delta":1.0000000000000001}'), ErrorCode.BAD_DELTA],
  ["JSON delta 1e3", text('{"delta":1e3}'), ErrorCode.BAD_DELTA],
  ["JSON delta 1E+0", text('{"delta":1E+0}'), ErrorCode.BAD_DELTA],
  ["JSON delta 10e-1", text('{"delta":10e-1}'), ErrorCode.BAD_DELTA],
  ["JSON delta -0.0", text('{"delta":-0.0}'), ErrorCode.BAD_DELTA],
  ["JSON delta 0e0", text('{"delta":0e0}'), ErrorCode.BAD_DELTA],
  ["JSON delta 9007199254740991.0", text('{"delta":9007199254740991.0}'), ErrorCode.BAD_DELTA],
  ["JSON escaped key delta 1.0", text('{"\\u0064elta":1.0}'), ErrorCode.BAD_DELTA],
  ["JSON last duplicate delta 1.0", text('{"delta":1,"delta":1.0}'), ErrorCode.BAD_DELTA],
  ["JSON last duplicate escaped delta 2.0", text('{"delta":1,"d\\u0065lta":2.0}'), ErrorCode.BAD_DELTA],
  ["JSON delta 1.0 after tricky strings", text('{"a":"\\"delta\\":1,\\\\","delta":1.0}'), ErrorCode.BAD_DELTA],
  // Beyond the safe range is out of range however the number is written (Infinity included).
  ["JSON delta 1e400", text('{"delta":1e400}'), ErrorCode.DELTA_OUT_OF_RANGE],
  ["JSON delta 2^53", text('{"delta":9007199254740992}'), ErrorCode.DELTA_OUT_OF_RANGE],
  ["JSON delta 2^53+1", text('{"delta":9007199254740993}'), ErrorCode.DELTA_OUT_OF_RANGE],
  ["JSON delta -2^53", text('{"delta":-9007199254740992}'), ErrorCode.DELTA_OUT_OF_RANGE],
  ["JSON delta 400 digits", text(`{"delta":${"9".repeat(400)}}`), ErrorCode.DELTA_OUT_OF_RANGE],
  ["JSON delta -1e20", text('{"delta":-1e20}'), ErrorCode.DELTA_OUT_OF_RANGE],
  ["JSON ts yesterday", text('{"ts":"yesterday"}'), ErrorCode.BAD_TS],
  ["JSON ts numeric string", text('{"ts":"1763726400000"}'), ErrorCode.BAD_TS],
  ["JSON ts fraction", text('{"ts":1.5}'), ErrorCode.BAD_TS],
  ["JSON ts object", text('{"ts":{"ms":1}}'), ErrorCode.BAD_TS],
  ["JSON ts null", text('{"ts":null}'), ErrorCode.BAD_TS],
  ["JSON ts bool", text('{"ts":false}'), ErrorCode.BAD_TS],
  ["JSON ts -1", text('{"ts":-1}'), ErrorCode.TS_OUT_OF_RANGE],
  ["JSON ts 1e20", text('{"ts":1e20}'), ErrorCode.TS_OUT_OF_RANGE],
  ["JSON ts 1e400", text('{"ts":1e400}'), ErrorCode.TS_OUT_OF_RANGE],
  ["JSON ts 1969", text('{"ts":"1969-12-31"}'), ErrorCode.TS_OUT_OF_RANGE],
  ["JSON nested objects, bad delta", text('{"a":{"b":{"c":{}}},"delta":"x"}'), ErrorCode.BAD_DELTA],
  // MessagePack.
  ["msgpack truncated", mp({ delta: 5, ts: 1763726400000 }).subarray(0, 10), ErrorCode.BAD_MSGPACK],
  ["msgpack fixmap missing value", bytes(0x81, ...key("delta")), ErrorCode.BAD_MSGPACK],
  ["msgpack fixmap missing entries", bytes(0x82, ...key("delta"), 0x01), ErrorCode.BAD_MSGPACK],
  ["msgpack map32 huge count", bytes(0xdf, 0xff, 0xff, 0xff, 0xff), ErrorCode.BAD_MSGPACK],
  ["msgpack trailing garbage", bytes(...mp({ delta: 5 }), 0x00), ErrorCode.BAD_MSGPACK],
  ["msgpack two maps", bytes(0x80, 0x80), ErrorCode.BAD_MSGPACK],
  ["msgpack delta string", mp({ delta: "5" }), ErrorCode.BAD_DELTA],
  ["msgpack delta float", mp({ delta: 1.5 }), ErrorCode.BAD_DELTA],
  ["msgpack delta NaN", mp({ delta: Number.NaN }), ErrorCode.BAD_DELTA],
  ["msgpack delta nil", mp({ delta: null }), ErrorCode.BAD_DELTA],
  ["msgpack delta bin", mp({ delta: Buffer.from([1]) }), ErrorCode.BAD_DELTA],
  ["msgpack delta Infinity", mp({ delta: Number.POSITIVE_INFINITY }), ErrorCode.DELTA_OUT_OF_RANGE],
  ["msgpack delta 2^60 bigint", mp({ delta: 2n ** 60n }), ErrorCode.DELTA_OUT_OF_RANGE],
  [
    "msgpack delta max uint64",
    bytes(0x81, ...key("delta"), 0xcf, ...hex("ffffffffffffffff")),
    ErrorCode.DELTA_OUT_OF_RANGE,
  ],
  [
    "msgpack delta min int64",
    bytes(0x81, ...key("delta"), 0xd3, ...hex("8000000000000000")),
    ErrorCode.DELTA_OUT_OF_RANGE,
  ],
  ["msgpack ts yesterday", mp({ ts: "yesterday" }), ErrorCode.BAD_TS],
  ["msgpack ts map", mp({ ts: { s: 1 } }), ErrorCode.BAD_TS],
  ["msgpack ts -1", mp({ ts: -1 }), ErrorCode.TS_OUT_OF_RANGE],
  ["msgpack ts 1e20", mp({ ts: 1e20 }), ErrorCode.TS_OUT_OF_RANGE],
  ["msgpack ts uint64 max", bytes(0x81, ...key("ts"), 0xcf, ...hex("ffffffffffffffff")), ErrorCode.TS_OUT_OF_RANGE],
  ["msgpack ts before 1970", mp({ ts: new Date(-1000) }), ErrorCode.TS_OUT_OF_RANGE],
];

for (const [what, body, expected] of malformed) {
  test(`decodeEvent - rejects ${what} with ${expected}`, (t) => {
    t.is(codeOf(body), expected);
  });
}

test("decodeEvent - error messages name the field and a truncated value", (t) => {
  const e = t.throws(() => decodeEvent(text(`{"delta":"${"9".repeat(500)}"}`)), { instanceOf: EventError });
  t.regex(e?.message ?? "", /^delta "9+…/);
  t.true((e?.message.length ?? 0) < 200);
  const e2 = t.throws(() => decodeEvent(text('{"ts":"yesterday"}')), { instanceOf: EventError });
  t.regex(e2?.message ?? "", /^ts "yesterday"/);
});

test("decodeEvent - never throws anything but an EventError", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([0x80 + (b.length % 16), ...b])),
          fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([0xde, 0x00, b.length % 4, ...b])),
          fc.json().map((j) => text(j)),
          fc.anything().map((v) => {
            try {
              return mp(v);
            } catch {
              return new Uint8Array(0);
            }
          }),
        ),
        (body) => {
          try {
            const r = decodeEvent(body);
            return (
              Number.isSafeInteger(r.delta) &&
              (r.ts === undefined || (Number.isSafeInteger(r.ts) && r.ts >= 0 && r.ts <= MAX_TS_MS))
            );
          } catch (err) {
            return err instanceof EventError;
          }
        },
      ),
      { numRuns: 3000 },
    ),
  );
});
