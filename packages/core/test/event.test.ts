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

const enc = new TextEncoder();
const text = (s: string): Uint8Array => enc.encode(s);
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ""), "hex"));
const packr = new Packr({ useRecords: false });
const mp = (v: unknown): Uint8Array => packr.pack(v);
// msgpack fixstr for short ASCII keys.
const key = (k: string): number[] => [0xa0 + k.length, ...enc.encode(k)];

const codeOf = (body: Uint8Array): string | undefined => {
  try {
    decodeEvent(body);
    return undefined;
  } catch (err) {
    return err instanceof EventError ? err.code : `NOT_AN_EVENT_ERROR: ${String(err)}`;
  }
};

test("decodeEvent - empty body counts +1", (t) => {
  t.deepEqual(decodeEvent(new Uint8Array(0)), { delta: 1, ts: undefined });
});

test("decodeEvent - ASCII integers", (t) => {
  const cases: [string, number][] = [
    ["5", 5],
    ["-2", -2],
    ["+3", 3],
    ["0", 0],
    ["-0", 0],
    ["007", 7],
    ["42\n", 42],
    ["\t 42 \r\n", 42],
    ["9007199254740991", Number.MAX_SAFE_INTEGER],
    ["-9007199254740991", -Number.MAX_SAFE_INTEGER],
  ];
  for (const [s, d] of cases) {
    const r = decodeEvent(text(s));
    t.deepEqual(r, { delta: d, ts: undefined }, JSON.stringify(s));
    t.true(Object.is(r.delta, d), JSON.stringify(s));
  }
});

test("decodeEvent - JSON objects", (t) => {
  t.deepEqual(decodeEvent(text("{}")), { delta: 1, ts: undefined });
  t.deepEqual(decodeEvent(text('{"delta":5,"ts":1763726400000}')), { delta: 5, ts: 1763726400000 });
  t.deepEqual(decodeEvent(text(' {"delta": -3}\n')), { delta: -3, ts: undefined });
  t.deepEqual(decodeEvent(text('{"delta":0}')), { delta: 0, ts: undefined });
  t.deepEqual(decodeEvent(text('{"delta":-0}')), { delta: 0, ts: undefined });
  t.deepEqual(decodeEvent(text('{"ts":"2026-11-21T10:00:00Z"}')), { delta: 1, ts: Date.UTC(2026, 10, 21, 10) });
  t.deepEqual(decodeEvent(text('{"delta":2,"other":{"x":[1]},"__proto__":{"delta":9}}')), { delta: 2, ts: undefined });
  t.deepEqual(decodeEvent(text('{"name":"é","delta":2}')), { delta: 2, ts: undefined });
});

test("decodeEvent - JSON delta: the top-level key, unescaped, last duplicate wins, as JSON.parse", (t) => {
  const cases: [string, number][] = [
    ['{"\\u0064elta":7}', 7],
    ['{"delta":1.5,"delta":2}', 2],
    ['{"delta":2,"d\\u0065lta":-3}', -3],
    ['{"x":{"delta":1.0},"delta":4}', 4],
    ['{"x":[{"delta":1e3},[1.5]],"delta":5}', 5],
    ['{"x":"{\\"delta\\":1.0}","delta":6}', 6],
    ['{"x":"\\\\","delta":8,"y":"\\\\\\""}', 8],
    ['{"deltas":1.5,"delt":2.5,"Delta":3.5,"delta":9}', 9],
    [' {\t"delta" :\r\n10 , "x" : [ 1.5 ] }\n', 10],
    ['{"ts":1,"delta":-0}', 0],
    ['{"a":true,"b":false,"c":null,"d":-1.5e-3,"delta":11}', 11],
    ['{"é":"\\ud83d\\ude00","delta":12}', 12],
  ];
  for (const [json, d] of cases) t.is(decodeEvent(text(json)).delta, d, json);
  // A delta nowhere at the top level defaults to 1, whatever nested objects say.
  t.is(decodeEvent(text('{"x":{"delta":1.0}}')).delta, 1);
});

/** Ways of writing the key `delta` in JSON. */
const deltaKey = fc.constantFrom('"delta"', '"\\u0064elta"', '"d\\u0065lta"', '"\\u0064\\u0065\\u006c\\u0074\\u0061"');
/** Members that are not `delta`, including nested objects that hold a non-integer `delta`. */
const otherMembers = fc.array(
  fc
    .tuple(
      fc.string().filter((k) => k !== "delta" && k !== "ts"),
      fc.oneof(fc.jsonValue(), fc.constant({ delta: 1.5 }), fc.constant([{ delta: "1.0" }])),
    )
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`),
  { maxLength: 4 },
);
const space = fc.constantFrom("", " ", "\n", "\t ", "\r\n");

/** A JSON object text with `delta` written as `literal` among other members. */
const withDelta = (literal: fc.Arbitrary<string>) =>
  fc
    .tuple(deltaKey, literal, otherMembers, otherMembers, space, space)
    .map(([k, lit, before, after, s1, s2]) => ({
      lit,
      json: `${s1}{${[...before, `${k}${s2}:${s1}${lit}`, ...after].join(`,${s2}`)}}${s2}`,
    }))
    .filter(({ json }) => text(json).length <= MAX_EVENT_BYTES);

test("decodeEvent - any JSON integer literal in range round-trips (property)", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(withDelta(fc.maxSafeInteger().map(String)), ({ lit, json }) => {
        const r = decodeEvent(text(json));
        return r.delta === Number(lit) && r.ts === undefined;
      }),
      { numRuns: 2000 },
    ),
  );
});

/** JSON number literals with a fraction or an exponent (or both). */
const nonIntegerLiteral = fc
  .tuple(
    fc.boolean(),
    fc.oneof(fc.constant("0"), fc.bigInt({ min: 1n, max: 10n ** 20n }).map(String)),
    fc.option(fc.stringMatching(/^[0-9]{1,20}$/), { nil: undefined }),
    fc.option(fc.tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "+", "-"), fc.integer({ min: 0, max: 400 })), {
      nil: undefined,
    }),
  )
  .filter(([, , frac, exp]) => frac !== undefined || exp !== undefined)
  .map(
    ([neg, int, frac, exp]) =>
      `${neg ? "-" : ""}${int}${frac === undefined ? "" : `.${frac}`}${exp === undefined ? "" : exp.join("")}`,
  );

test("decodeEvent - any JSON delta literal with a fraction or exponent is BAD_DELTA, or out of range beyond 2^53 (property)", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(withDelta(nonIntegerLiteral), ({ lit, json }) => {
        const expected =
          Math.abs(Number(lit)) > Number.MAX_SAFE_INTEGER ? ErrorCode.DELTA_OUT_OF_RANGE : ErrorCode.BAD_DELTA;
        return codeOf(text(json)) === expected;
      }),
      { numRuns: 3000 },
    ),
  );
});

test("decodeEvent - with duplicate JSON delta keys the last one decides (property)", (t) => {
  const literal = fc.oneof(fc.maxSafeInteger().map(String), nonIntegerLiteral);
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(fc.tuple(deltaKey, literal), { minLength: 1, maxLength: 5 }), otherMembers, (ds, other) => {
        const members = [...ds.map(([k, lit]) => `${k}:${lit}`), ...other];
        const last = ds[ds.length - 1]![1];
        const alone = `{"delta":${last}}`;
        const json = `{${members.join(",")}}`;
        if (text(json).length > MAX_EVENT_BYTES) return true;
        return (
          codeOf(text(json)) === codeOf(text(alone)) &&
          (codeOf(text(alone)) !== undefined || decodeEvent(text(json)).delta === Number(last))
        );
      }),
      { numRuns: 1000 },
    ),
  );
});

test("decodeEvent - any JSON object decodes like the same map in MessagePack (property)", (t) => {
  const member = fc.tuple(
    fc.oneof(fc.constantFrom("delta", "ts"), fc.string()),
    fc.oneof(
      fc.jsonValue(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.maxSafeInteger(),
      fc.integer({ min: 0, max: MAX_TS_MS }),
    ),
  );
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(member, { maxLength: 5 }), fc.constantFrom(0, 1, "\t"), (members, indent) => {
        const obj = Object.fromEntries(members);
        const json = text(JSON.stringify(obj, null, indent));
        if (json.length > MAX_EVENT_BYTES) return true;
        const want = codeOf(mp(obj));
        if (codeOf(json) !== want) return false;
        return want !== undefined || decodeEvent(json).delta === decodeEvent(mp(obj)).delta;
      }),
      { numRuns: 2000 },
    ),
  );
});

test("decodeEvent - MessagePack maps", (t) => {
  t.deepEqual(decodeEvent(mp({ delta: 5, ts: 1763726400000 })), { delta: 5, ts: 1763726400000 });
  t.deepEqual(decodeEvent(bytes(0x80)), { delta: 1, ts: undefined }); // empty fixmap
  t.deepEqual(decodeEvent(bytes(0x81, ...key("delta"), 0x05)), { delta: 5, ts: undefined }); // fixmap
  t.deepEqual(decodeEvent(bytes(0xde, 0x00, 0x01, ...key("delta"), 0xff)), { delta: -1, ts: undefined }); // map16
  t.deepEqual(decodeEvent(bytes(0xdf, 0, 0, 0, 1, ...key("delta"), 0x07)), { delta: 7, ts: undefined }); // map32
  // uint64 / int64 (as other languages' encoders write large integers) come in as bigint.
  t.deepEqual(decodeEvent(bytes(0x81, ...key("ts"), 0xcf, ...hex("0000019a a4d0 7c00"))), {
    delta: 1,
    ts: 0x19aa4d07c00,
  });
  t.deepEqual(decodeEvent(bytes(0x81, ...key("delta"), 0xd3, ...hex("ffe0000000000001"))), {
    delta: -Number.MAX_SAFE_INTEGER,
    ts: undefined,
  });
  // Timestamp extension -> Date.
  t.deepEqual(decodeEvent(mp({ ts: new Date(1763726400123) })), { delta: 1, ts: 1763726400123 });
  t.deepEqual(decodeEvent(mp({ ts: "2026-11-21", delta: 2 })), { delta: 2, ts: Date.UTC(2026, 10, 21) });
  // msgpackr writes JS undefined as an extension: treated as absent.
  t.deepEqual(decodeEvent(mp({ delta: 3, ts: undefined })), { delta: 3, ts: undefined });
});

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
