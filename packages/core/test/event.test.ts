import test from "ava";
import fc from "fast-check";
import { ErrorCode, MAX_EVENT_BYTES, MAX_TS_MS, decodeEvent } from "../src/index.js";
import { bytes, codeOf, hex, key, mp, text } from "./helpers/event-bodies.js";

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
