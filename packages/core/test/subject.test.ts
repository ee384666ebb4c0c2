import test from "ava";
import {
  DLQ_PREFIX,
  EVENT_PREFIX,
  ErrorCode,
  EventError,
  READ_PREFIX,
  RESERVED_NAMESPACES,
  STORED_EVENT_PREFIX,
  STORED_READ_PREFIX,
  TallyError,
  assertToken,
  eventSubject,
  isReservedNamespace,
  isValidToken,
  parseStoredEventSubject,
  parseStoredReadSubject,
  readSubject,
  shardEventFilter,
  shardReadFilter,
} from "../src/index.js";

test("prefixes - match the wire contract", (t) => {
  t.is(EVENT_PREFIX, "count");
  t.is(STORED_EVENT_PREFIX, "tally.ev");
  t.is(READ_PREFIX, "count.get");
  t.is(STORED_READ_PREFIX, "tally.rd");
  t.is(DLQ_PREFIX, "tally.dlq");
  t.deepEqual([...RESERVED_NAMESPACES], ["get", "top", "list"]);
});

test("isValidToken - accepts ordinary, unicode and maximal tokens", (t) => {
  for (const ok of ["web", "home", "a", "a-b_c/d:e%2E", "é", "日本語", "🙂", "x".repeat(255), "é".repeat(127)]) {
    t.true(isValidToken(ok), ok);
  }
});

test("isValidToken - rejects empty, oversized and forbidden characters", (t) => {
  const bad = [
    "",
    "x".repeat(256),
    "é".repeat(128), // 256 bytes although only 128 chars
    "🙂".repeat(64), // 256 bytes
    "a.b",
    ".",
    "a*",
    "*",
    ">",
    "a>b",
    "a b",
    "a\tb",
    "a\nb",
    "a\rb",
    "\u0000",
    "a\u001fb",
    "a\u007fb",
    "a\u00a0b", // no-break space
    "a\u2028b", // line separator
    "a\ufeffb",
    "a\ud800b", // lone surrogate
    "a\udc00",
  ];
  for (const s of bad) t.false(isValidToken(s), JSON.stringify(s));
  t.false(isValidToken(undefined as unknown as string));
});

test("assertToken - throws BAD_SUBJECT naming the token and the reason", (t) => {
  const e = t.throws(() => assertToken("name", "a.b"), { instanceOf: EventError });
  t.is(e?.code, ErrorCode.BAD_SUBJECT);
  t.regex(e?.message ?? "", /^name "a\.b" contains "\."/);
  const e2 = t.throws(() => assertToken("ns", ""), { instanceOf: EventError });
  t.regex(e2?.message ?? "", /^ns "" is empty/);
  const e3 = t.throws(() => assertToken("ns", "x".repeat(300)), { instanceOf: EventError });
  t.regex(e3?.message ?? "", /300 bytes/);
  t.notThrows(() => assertToken("ns", "web"));
});

test("isReservedNamespace - get, top, list and _-prefixed", (t) => {
  for (const ns of ["get", "top", "list", "_", "_probe", "_x.y"]) t.true(isReservedNamespace(ns), ns);
  for (const ns of ["web", "GET", "gets", "topic", "a_", "listing"]) t.false(isReservedNamespace(ns), ns);
});

test("eventSubject - builds count.<ns>.<name>", (t) => {
  t.is(eventSubject("web", "home"), "count.web.home");
  t.is(eventSubject("web", "example%2Ecom"), "count.web.example%2Ecom");
});

test("eventSubject - rejects bad tokens and reserved namespaces", (t) => {
  t.is(t.throws(() => eventSubject("web", "a.b"), { instanceOf: EventError })?.code, ErrorCode.BAD_SUBJECT);
  t.is(t.throws(() => eventSubject("w b", "x"), { instanceOf: EventError })?.code, ErrorCode.BAD_SUBJECT);
  t.is(t.throws(() => eventSubject("web", ""), { instanceOf: EventError })?.code, ErrorCode.BAD_SUBJECT);
  for (const ns of ["get", "top", "list", "_probe"]) {
    t.is(t.throws(() => eventSubject(ns, "x"), { instanceOf: EventError })?.code, ErrorCode.RESERVED_NAMESPACE);
  }
  t.is(eventSubject("_probe", "n1", { allowReserved: true }), "count._probe.n1");
});

test("readSubject - builds count.get.<ns>.<name> with the same checks", (t) => {
  t.is(readSubject("web", "home"), "count.get.web.home");
  t.is(t.throws(() => readSubject("web", "a>"), { instanceOf: EventError })?.code, ErrorCode.BAD_SUBJECT);
  t.is(t.throws(() => readSubject("_probe", "x"), { instanceOf: EventError })?.code, ErrorCode.RESERVED_NAMESPACE);
  t.is(readSubject("_probe", "x", { allowReserved: true }), "count.get._probe.x");
});

test("shardEventFilter / shardReadFilter - build per-shard filters", (t) => {
  t.is(shardEventFilter(0), "tally.ev.0.>");
  t.is(shardEventFilter(63), "tally.ev.63.>");
  t.is(shardReadFilter(1023), "tally.rd.1023.>");
  for (const bad of [-1, 1024, 1.5, Number.NaN]) {
    t.throws(() => shardEventFilter(bad), { instanceOf: TallyError });
    t.throws(() => shardReadFilter(bad), { instanceOf: TallyError });
  }
});

test("parseStoredEventSubject - takes apart tally.ev.<shard>.<ns>.<name>", (t) => {
  t.deepEqual(parseStoredEventSubject("tally.ev.17.web.home"), { shard: 17, ns: "web", name: "home" });
  t.deepEqual(parseStoredEventSubject("tally.ev.0.é.日本"), { shard: 0, ns: "é", name: "日本" });
  t.deepEqual(parseStoredEventSubject("tally.ev.1023._probe.x"), { shard: 1023, ns: "_probe", name: "x" });
});

test("parseStoredEventSubject - rejects every other shape with BAD_SUBJECT", (t) => {
  const bad = [
    "",
    "tally.ev",
    "tally.ev.1.web",
    "tally.ev.1.web.home.extra",
    "tally.rd.1.web.home",
    "count.ev.1.web.home",
    "tally.ev.x.web.home",
    "tally.ev.-1.web.home",
    "tally.ev.+1.web.home",
    "tally.ev.01.web.home",
    "tally.ev.1e2.web.home",
    "tally.ev.1024.web.home",
    "tally.ev.99999.web.home",
    "tally.ev..web.home",
    "tally.ev.1..home",
    "tally.ev.1.web.",
    "tally.ev.1.web.*",
    "tally.ev.1.>.x",
    "tally.ev.1.w b.x",
  ];
  for (const s of bad) {
    const e = t.throws(() => parseStoredEventSubject(s), { instanceOf: EventError }, s);
    t.is(e?.code, ErrorCode.BAD_SUBJECT, s);
  }
});

test("parseStoredReadSubject - takes apart tally.rd.<shard>.<ns>.<name> only", (t) => {
  t.deepEqual(parseStoredReadSubject("tally.rd.5.web.home"), { shard: 5, ns: "web", name: "home" });
  t.is(
    t.throws(() => parseStoredReadSubject("tally.ev.5.web.home"), { instanceOf: EventError })?.code,
    ErrorCode.BAD_SUBJECT,
  );
  t.is(
    t.throws(() => parseStoredReadSubject("tally.rd.5.web"), { instanceOf: EventError })?.code,
    ErrorCode.BAD_SUBJECT,
  );
});
