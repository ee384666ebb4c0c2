import test from "ava";
import fc from "fast-check";
import { Packr } from "msgpackr";
import {
  ErrorCode,
  EventError,
  MAX_EVENT_BYTES,
  MAX_TS_MS,
  decodeEvent,
  encodeEvent,
  encodeEventJson,
} from "../src/index.js";
import { mp, text } from "./helpers/event-bodies.js";

// Encoding events (the client's side), each body decoding back, and the body limit;
// decoding alone is in event.test.ts.

const delta = fc.maxSafeInteger();
const ts = fc.option(fc.integer({ min: 0, max: MAX_TS_MS }), { nil: undefined });

test("decodeEvent - JSON and MessagePack encodings decode back (property)", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(delta, ts, (d, s) => {
        const want = { delta: d, ts: s };
        const obj = s === undefined ? { delta: d } : { delta: d, ts: s };
        const forms = [
          text(JSON.stringify(obj)),
          mp(obj),
          new Packr({ useRecords: false, variableMapSize: true }).pack(obj),
          encodeEventJson(d, s),
        ];
        if (s !== undefined) {
          forms.push(mp({ delta: d, ts: new Date(s) }), mp({ delta: d, ts: new Date(s).toISOString() }));
          forms.push(text(JSON.stringify({ ts: new Date(s).toISOString(), delta: d })));
        } else {
          forms.push(text(String(d)), text(`${d}\n`));
        }
        return forms.every((f) => {
          const r = decodeEvent(f);
          return r.delta === want.delta && r.ts === want.ts;
        });
      }),
      { numRuns: 2000 },
    ),
  );
});

test("encodeEventJson - writes the JSON form and validates its input", (t) => {
  t.is(new TextDecoder().decode(encodeEventJson(5)), '{"delta":5}');
  t.is(new TextDecoder().decode(encodeEventJson(-2, "2026-11-21")), `{"delta":-2,"ts":${Date.UTC(2026, 10, 21)}}`);
  t.is(new TextDecoder().decode(encodeEventJson(1, new Date(7))), '{"delta":1,"ts":7}');
  t.is(t.throws(() => encodeEventJson(1.5), { instanceOf: EventError })?.code, ErrorCode.BAD_DELTA);
  t.is(t.throws(() => encodeEventJson(2 ** 53), { instanceOf: EventError })?.code, ErrorCode.DELTA_OUT_OF_RANGE);
  t.is(t.throws(() => encodeEventJson(1, "yesterday"), { instanceOf: EventError })?.code, ErrorCode.BAD_TS);
  t.is(t.throws(() => encodeEventJson(1, -5), { instanceOf: EventError })?.code, ErrorCode.TS_OUT_OF_RANGE);
});

test("encodeEvent - writes the smallest body", (t) => {
  const str = (b: Uint8Array) => new TextDecoder().decode(b);
  t.is(encodeEvent().length, 0);
  t.is(encodeEvent(1).length, 0);
  t.is(str(encodeEvent(5)), "5");
  t.is(str(encodeEvent(-2)), "-2");
  t.is(str(encodeEvent(0)), "0");
  t.is(str(encodeEvent(-0)), "0");
  t.is(str(encodeEvent(Number.MAX_SAFE_INTEGER)), "9007199254740991");
  t.is(str(encodeEvent(1, 7)), '{"delta":1,"ts":7}');
  t.is(str(encodeEvent(3, "2026-11-21")), `{"delta":3,"ts":${Date.UTC(2026, 10, 21)}}`);
  t.is(str(encodeEvent(-1, new Date(9))), '{"delta":-1,"ts":9}');
});

test("encodeEvent - validates like decodeEvent", (t) => {
  const codeOfEncode = (f: () => unknown) => t.throws(f, { instanceOf: EventError })?.code;
  t.is(
    codeOfEncode(() => encodeEvent(1.5)),
    ErrorCode.BAD_DELTA,
  );
  t.is(
    codeOfEncode(() => encodeEvent(Number.NaN)),
    ErrorCode.BAD_DELTA,
  );
  t.is(
    codeOfEncode(() => encodeEvent("5" as unknown as number)),
    ErrorCode.BAD_DELTA,
  );
  t.is(
    codeOfEncode(() => encodeEvent(2 ** 53)),
    ErrorCode.DELTA_OUT_OF_RANGE,
  );
  t.is(
    codeOfEncode(() => encodeEvent(Number.NEGATIVE_INFINITY)),
    ErrorCode.DELTA_OUT_OF_RANGE,
  );
  t.is(
    codeOfEncode(() => encodeEvent(1, "yesterday")),
    ErrorCode.BAD_TS,
  );
  t.is(
    codeOfEncode(() => encodeEvent(1, new Date(Number.NaN))),
    ErrorCode.BAD_TS,
  );
  t.is(
    codeOfEncode(() => encodeEvent(1, -5)),
    ErrorCode.TS_OUT_OF_RANGE,
  );
});

test("encodeEvent - every body decodes back; empty only for +1 without ts (property)", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(delta, ts, (d, s) => {
        const body = encodeEvent(d, s);
        const r = decodeEvent(body);
        return r.delta === d && r.ts === s && (body.length === 0) === (d === 1 && s === undefined);
      }),
      { numRuns: 2000 },
    ),
  );
});

test("decodeEvent - a JSON delta with a fraction names the literal as written", (t) => {
  const e = t.throws(() => decodeEvent(text('{"delta":1.0000000000000001}')), { instanceOf: EventError });
  t.is(e?.code, ErrorCode.BAD_DELTA);
  t.regex(e?.message ?? "", /^delta 1\.0000000000000001 /);
});

test("decodeEvent - the body limit: MAX_EVENT_BYTES is accepted, one byte more is BODY_TOO_LARGE naming both sizes", (t) => {
  t.is(MAX_EVENT_BYTES, 4096);
  // A JSON body padded with an ignored key to exactly the limit still counts.
  const head = '{"delta":7,"pad":"';
  const atLimit = text(`${head}${"x".repeat(MAX_EVENT_BYTES - head.length - 2)}"}`);
  t.is(atLimit.length, MAX_EVENT_BYTES);
  t.deepEqual(decodeEvent(atLimit), { delta: 7, ts: undefined });
  const padded = text("5".padEnd(MAX_EVENT_BYTES, " "));
  t.deepEqual(decodeEvent(padded), { delta: 5, ts: undefined });
  const over = text(`${head}${"x".repeat(MAX_EVENT_BYTES - head.length - 1)}"}`);
  t.is(over.length, MAX_EVENT_BYTES + 1);
  const e = t.throws(() => decodeEvent(over), { instanceOf: EventError });
  t.is(e?.code, ErrorCode.BODY_TOO_LARGE);
  t.is(e?.message, "event body is 4097 bytes, over the limit of 4096; a valid body needs under 100");
});

test("encodeEvent - the largest body it can write is far under the limit", (t) => {
  const extremes = [
    encodeEvent(-Number.MAX_SAFE_INTEGER),
    encodeEvent(-Number.MAX_SAFE_INTEGER, MAX_TS_MS),
    encodeEventJson(-Number.MAX_SAFE_INTEGER, "9999-12-31T23:59:59.999Z"),
  ];
  for (const body of extremes) t.true(body.length < 100, `${body.length} bytes`);
});
