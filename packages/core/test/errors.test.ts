import test from "ava";
import { ErrorCode, EventError, RequestError, TallyError, serviceStatus } from "../src/index.js";

test("ErrorCode - every value equals its key", (t) => {
  for (const [k, v] of Object.entries(ErrorCode)) t.is<string, string>(v, k);
  t.true(Object.keys(ErrorCode).length >= 19);
});

test("TallyError - carries code, name, message and cause", (t) => {
  const cause = new Error("root");
  const e = new TallyError("SOMETHING", "went wrong", { cause });
  t.true(e instanceof Error);
  t.is(e.name, "TallyError");
  t.is(e.code, "SOMETHING");
  t.is(e.message, "went wrong");
  t.is(e.cause, cause);
  t.false("cause" in new TallyError("X", "no cause"));
});

test("EventError - is a TallyError with its own name", (t) => {
  const e = new EventError(ErrorCode.BAD_DELTA, 'delta "x" is not an integer');
  t.true(e instanceof TallyError);
  t.true(e instanceof EventError);
  t.is(e.name, "EventError");
  t.is(e.code, "BAD_DELTA");
});

test("RequestError - retryable defaults to false and can be set", (t) => {
  const e = new RequestError(ErrorCode.BAD_REQUEST, "nope");
  t.true(e instanceof TallyError);
  t.is(e.name, "RequestError");
  t.false(e.retryable);
  const r = new RequestError(ErrorCode.NOT_READY, "restoring", { retryable: true, cause: "x" });
  t.true(r.retryable);
  t.is(r.cause, "x");
});

test("serviceStatus - maps codes to HTTP-like statuses", (t) => {
  const expected: Record<string, number> = {
    BAD_REQUEST: 400,
    BAD_SUBJECT: 400,
    BAD_CONFIG: 400,
    BAD_ANYTHING_NEW: 400,
    PERIOD_NOT_ENABLED: 400,
    TOO_MANY_POINTS: 400,
    RESERVED_NAMESPACE: 400,
    TIMEOUT: 408,
    NOT_READY: 503,
    SHARD_NOT_OWNED: 503,
    TOO_MANY_WAITING: 503,
    INTERNAL: 500,
    COUNT_OVERFLOW: 500,
    WHATEVER: 500,
  };
  for (const [code, status] of Object.entries(expected)) t.is(serviceStatus(code), status, code);
});
