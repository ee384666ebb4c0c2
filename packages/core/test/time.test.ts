import test from "ava";
import fc from "fast-check";
import { ErrorCode, EventError, MAX_TS_MS, MIN_TS_MS, parseTime } from "../src/index.js";

const code = (v: unknown): string | undefined => {
  try {
    parseTime(v, "ts");
    return undefined;
  } catch (err) {
    return err instanceof EventError ? err.code : "NOT_AN_EVENT_ERROR";
  }
};

test("MIN_TS_MS / MAX_TS_MS - 1970 to the end of 9999", (t) => {
  t.is(MIN_TS_MS, 0);
  t.is(new Date(MAX_TS_MS).toISOString(), "9999-12-31T23:59:59.999Z");
});

test("parseTime - accepts epoch ms numbers, bigints and Dates in range", (t) => {
  t.is(parseTime(0, "ts"), 0);
  t.true(Object.is(parseTime(-0, "ts"), 0));
  t.is(parseTime(1763726400000, "ts"), 1763726400000);
  t.is(parseTime(MAX_TS_MS, "ts"), MAX_TS_MS);
  t.is(parseTime(1763726400000n, "ts"), 1763726400000);
  t.is(parseTime(new Date(1763726400123), "ts"), 1763726400123);
});

test("parseTime - accepts strict ISO-8601 dates and date-times", (t) => {
  const cases: [string, number][] = [
    ["2026-11-21", Date.UTC(2026, 10, 21)],
    ["2026-11-21T10:00Z", Date.UTC(2026, 10, 21, 10)],
    ["2026-11-21T10:00:00Z", Date.UTC(2026, 10, 21, 10)],
    ["2026-11-21T10:00:00", Date.UTC(2026, 10, 21, 10)], // no offset: UTC, never local
    ["2026-11-21T10:00:00.123+01:00", Date.UTC(2026, 10, 21, 9, 0, 0, 123)],
    ["2026-11-21T10:00:00.5-02:30", Date.UTC(2026, 10, 21, 12, 30, 0, 500)],
    ["2026-11-21T10:00:00.123456789Z", Date.UTC(2026, 10, 21, 10, 0, 0, 123)],
    ["2024-02-29T23:59:59.999Z", Date.UTC(2024, 1, 29, 23, 59, 59, 999)],
    ["1970-01-01T00:00:00Z", 0],
    ["1970-01-01T01:00:00+01:00", 0],
    ["9999-12-31T23:59:59.999Z", MAX_TS_MS],
  ];
  for (const [s, ms] of cases) t.is(parseTime(s, "ts"), ms, s);
});

test("parseTime - ISO strings agree with Date for any time in range", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.integer({ min: MIN_TS_MS, max: MAX_TS_MS }),
        (ms) => parseTime(new Date(ms).toISOString(), "ts") === ms,
      ),
      { numRuns: 5000 },
    ),
  );
});

test("parseTime - BAD_TS for wrong types and unparseable values", (t) => {
  const bad: unknown[] = [
    Number.NaN,
    1.5,
    "1763726400000",
    "",
    "yesterday",
    "now",
    "2026-11-21 10:00:00",
    "2026-11-21t10:00:00z",
    "2026-1-21",
    "26-11-21",
    "+002026-11-21",
    "2026-11-21T10",
    "2026-11-21T10:00:00+0100",
    "2026-13-01",
    "2026-00-10",
    "2026-02-29",
    "2026-04-31",
    "2026-11-21T24:00:00Z",
    "2026-11-21T10:60:00Z",
    "2026-11-21T10:00:60Z",
    "2026-11-21T10:00:00+24:00",
    "2026-11-21T10:00:00.Z",
    " 2026-11-21",
    "Sat, 21 Nov 2026 10:00:00 GMT",
    null,
    undefined,
    true,
    {},
    { ms: 1 },
    [1763726400000],
    new Date(Number.NaN),
  ];
  for (const v of bad) t.is(code(v), ErrorCode.BAD_TS, String(v));
});

test("parseTime - TS_OUT_OF_RANGE before 1970 or after 9999", (t) => {
  const out: unknown[] = [
    -1,
    -1.5,
    MAX_TS_MS + 1,
    1e20,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -1n,
    2n ** 64n,
    "1969-12-31T23:59:59.999Z",
    "1970-01-01T00:00:00+00:01",
    "9999-12-31T23:59:59-01:00",
    "0000-01-01",
    new Date(-1),
  ];
  for (const v of out) t.is(code(v), ErrorCode.TS_OUT_OF_RANGE, String(v));
});

test("parseTime - messages name the field", (t) => {
  const e = t.throws(() => parseTime("yesterday", "from"), { instanceOf: EventError });
  t.regex(e?.message ?? "", /^from "yesterday" is not an ISO-8601/);
});
