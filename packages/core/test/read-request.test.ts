import test, { type ExecutionContext } from "ava";
import {
  ErrorCode,
  MAX_READ_REQUEST_BYTES,
  RequestError,
  bucketIndex,
  bucketIso,
  parseReadRequest,
} from "../src/index.js";
import type { ErrorReply, ReadRequest, SeriesReply, ValueReply } from "../src/index.js";

const NOW = Date.UTC(2026, 10, 21, 12, 34, 56, 789);
const req = (s: string): ReadRequest => parseReadRequest(new TextEncoder().encode(s), NOW);

const rejects = (t: ExecutionContext, body: string | Uint8Array, pattern?: RegExp): void => {
  const b = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const e = t.throws(() => parseReadRequest(b, NOW), { instanceOf: RequestError }, String(body));
  t.is(e?.code, ErrorCode.BAD_REQUEST, String(body));
  t.false(e?.retryable);
  if (pattern !== undefined) t.regex(e?.message ?? "", pattern);
};

test("parseReadRequest - empty or whitespace body reads the all-time value now", (t) => {
  t.deepEqual(parseReadRequest(new Uint8Array(0), NOW), { kind: "value", period: "all", at: NOW });
  t.deepEqual(req(" \r\n"), { kind: "value", period: "all", at: NOW });
});

test("parseReadRequest - value requests", (t) => {
  t.deepEqual(req("{}"), { kind: "value", period: "all", at: NOW });
  t.deepEqual(req('{"period":"day"}'), { kind: "value", period: "day", at: NOW });
  t.deepEqual(req('{"period":"day","at":1763726400000}'), { kind: "value", period: "day", at: 1763726400000 });
  t.deepEqual(req(' {"period":"week","at":"2026-11-21"} \n'), {
    kind: "value",
    period: "week",
    at: Date.UTC(2026, 10, 21),
  });
  t.deepEqual(req('{"minSeq":42}'), { kind: "value", period: "all", at: NOW, minSeq: 42 });
  t.deepEqual(req('{"period":"all","at":5}'), { kind: "value", period: "all", at: 5 });
  t.false("minSeq" in req('{"period":"hour"}'));
});

test("parseReadRequest - series requests", (t) => {
  t.deepEqual(req('{"period":"day","from":"2026-11-01","to":"2026-11-21T23:00:00+01:00","minSeq":0}'), {
    kind: "series",
    period: "day",
    from: Date.UTC(2026, 10, 1),
    to: Date.UTC(2026, 10, 21, 22),
    minSeq: 0,
  });
  t.deepEqual(req('{"period":"minute","from":5,"to":5}'), { kind: "series", period: "minute", from: 5, to: 5 });
});

test("parseReadRequest - rejects bodies that are not a JSON object", (t) => {
  for (const body of [
    "5",
    '"day"',
    "[]",
    "null",
    "true",
    "period=day",
    "{",
    '{"period":"day"} x',
    "{'period':'day'}",
  ]) {
    rejects(t, body, /JSON object/);
  }
  rejects(t, Uint8Array.from([0x7b, 0xff, 0x7d]), /JSON object/); // invalid UTF-8
  rejects(t, Uint8Array.from([0x82, 0xa1, 0x61, 0x01])); // MessagePack is not accepted
});

test("parseReadRequest - rejects unknown keys, naming them", (t) => {
  rejects(t, '{"peroid":"day"}', /unknown key "peroid"/);
  rejects(t, '{"period":"day","At":1}', /unknown key "At"/);
  rejects(t, '{"min_seq":1}', /unknown key "min_seq"/);
  rejects(t, '{"__proto__":1}', /unknown key "__proto__"/);
});

test("parseReadRequest - rejects unknown periods", (t) => {
  for (const p of ['"days"', '"Day"', '""', "1", "null", '["day"]']) {
    rejects(t, `{"period":${p}}`, /^period .* is not one of all, minute, hour, day, week, month, year/);
  }
});

test("parseReadRequest - rejects bad times, naming the field", (t) => {
  rejects(t, '{"period":"day","at":"yesterday"}', /^at "yesterday"/);
  rejects(t, '{"period":"day","at":-1}', /^at -1 is outside/);
  rejects(t, '{"period":"day","at":null}', /^at null/);
  rejects(t, '{"period":"day","from":"x","to":1}', /^from "x"/);
  rejects(t, '{"period":"day","from":1,"to":1e20}', /^to 100000000000000000000 is outside/);
  const e = t.throws(() => req('{"at":1.5}'), { instanceOf: RequestError });
  t.is((e?.cause as { code?: string } | undefined)?.code, ErrorCode.BAD_TS);
});

test("parseReadRequest - rejects inconsistent series requests", (t) => {
  rejects(t, '{"period":"day","from":1}', /both "from" and "to"/);
  rejects(t, '{"period":"day","to":1}', /both "from" and "to"/);
  rejects(t, '{"period":"day","from":1,"to":2,"at":1}', /either "at".*or "from" and "to"/);
  rejects(t, '{"from":1,"to":2}', /period "all" has a single bucket/);
  rejects(t, '{"period":"all","from":1,"to":2}', /period "all" has a single bucket/);
  rejects(t, '{"period":"day","from":2,"to":1}', /"from" \(2\) is after "to" \(1\)/);
});

test("parseReadRequest - rejects bad minSeq", (t) => {
  for (const v of ["-1", "1.5", '"5"', "null", "9007199254740992", "true"]) {
    rejects(t, `{"minSeq":${v}}`, /^minSeq .* must be a non-negative integer/);
  }
});

test("parseReadRequest - rejects oversized bodies", (t) => {
  rejects(t, `{"period":"day","x":"${"a".repeat(MAX_READ_REQUEST_BYTES)}"}`, /limit/);
});

test("bucketIso - ISO start of the bucket", (t) => {
  const ms = Date.UTC(2026, 10, 21, 10, 30); // Saturday
  t.is(bucketIso("minute", bucketIndex("minute", ms)), "2026-11-21T10:30:00.000Z");
  t.is(bucketIso("hour", bucketIndex("hour", ms)), "2026-11-21T10:00:00.000Z");
  t.is(bucketIso("day", bucketIndex("day", ms)), "2026-11-21T00:00:00.000Z");
  t.is(bucketIso("week", bucketIndex("week", ms)), "2026-11-16T00:00:00.000Z");
  t.is(bucketIso("month", bucketIndex("month", ms)), "2026-11-01T00:00:00.000Z");
  t.is(bucketIso("year", bucketIndex("year", ms)), "2026-01-01T00:00:00.000Z");
});

test("reply shapes - match the wire contract examples", (t) => {
  const value: ValueReply = { ns: "web", name: "home", period: "day", bucket: "2026-11-21T00:00:00.000Z", value: 42 };
  t.is(
    JSON.stringify(value),
    '{"ns":"web","name":"home","period":"day","bucket":"2026-11-21T00:00:00.000Z","value":42}',
  );
  const series: SeriesReply = { ns: "web", name: "home", period: "day", points: [{ bucket: "b", value: 0 }] };
  t.deepEqual(Object.keys(series), ["ns", "name", "period", "points"]);
  const error: ErrorReply = { error: { code: ErrorCode.BAD_REQUEST, message: "m" } };
  t.is(JSON.stringify(error), '{"error":{"code":"BAD_REQUEST","message":"m"}}');
});
