import test from "ava";
import { TallyError } from "@tally/core";
import { ClientError } from "@tally/client";
import { errorReply } from "../src/http/dashboard/dashboard-api.js";
import {
  bucketPeriodParam,
  intParam,
  nameParam,
  nsParam,
  periodParam,
  timeParam,
} from "../src/http/dashboard/query-params.js";

const q = (s: string) => new URLSearchParams(s);

test("dashboard query params - good values parse, absent ones take the fallback", (t) => {
  t.is(nsParam(q("ns=web")), "web");
  t.is(nameParam(q("name=a.b%20c")), "a.b c");
  t.is(periodParam(q(""), "all"), "all");
  t.is(periodParam(q("period=week"), "all"), "week");
  t.is(bucketPeriodParam(q(""), "day"), "day");
  t.is(timeParam(q("at=2026-11-21T10:00Z"), "at"), Date.UTC(2026, 10, 21, 10));
  t.is(timeParam(q("at=1700000000000"), "at"), 1_700_000_000_000);
  t.is(timeParam(q("at=now"), "at"), undefined);
  t.is(timeParam(q("at="), "at"), undefined);
  t.is(intParam(q("limit=7"), "limit", 1, 10, 3), 7);
  t.is(intParam(q(""), "limit", 1, 10, 3), 3);
});

test("dashboard query params - bad values throw BAD_REQUEST (BAD_TS for times) naming the parameter", (t) => {
  const cases: [() => unknown, string, RegExp][] = [
    [() => nsParam(q("")), "BAD_REQUEST", /"ns" is required/],
    [() => nsParam(q("ns=a.b")), "BAD_REQUEST", /"ns" must be one NATS token/],
    [() => nsParam(q("ns=a%20b")), "BAD_REQUEST", /"ns"/],
    [() => nameParam(q(`name=${"x".repeat(256)}`)), "BAD_REQUEST", /"name" is longer than 255 bytes/],
    [() => periodParam(q("period=fortnight"), "all"), "BAD_REQUEST", /"period" must be/],
    [() => bucketPeriodParam(q("period=all"), "day"), "BAD_REQUEST", /other than all/],
    [() => timeParam(q("at=yesterday"), "at"), "BAD_TS", /at/],
    [() => intParam(q("limit=0"), "limit", 1, 10, 3), "BAD_REQUEST", /"limit" must be an integer from 1 to 10/],
    [() => intParam(q("limit=2.5"), "limit", 1, 10, 3), "BAD_REQUEST", /"limit"/],
    [() => intParam(q("limit=11"), "limit", 1, 10, 3), "BAD_REQUEST", /"limit"/],
  ];
  for (const [fn, expected, message] of cases) {
    const err = t.throws(fn, { instanceOf: TallyError, message });
    t.is(err?.code, expected);
  }
});

test("dashboard api - errors map to HTTP statuses by their code", (t) => {
  const status = (err: unknown) => errorReply(err).status;
  t.is(status(new TallyError("BAD_REQUEST", "x")), 400);
  t.is(status(new TallyError("PERIOD_NOT_ENABLED", "x")), 400);
  t.is(status(new TallyError("BUCKET_EXPIRED", "x")), 410);
  t.is(status(new ClientError("NO_RESPONDERS", "x", { retryable: true })), 503);
  t.is(status(new ClientError("BAD_REPLY", "x")), 502);
  t.is(status(new Error("boom")), 503);
  t.deepEqual(errorReply(new ClientError("TIMEOUT", "slow", { retryable: true })).body, {
    error: { code: "TIMEOUT", message: "slow", retryable: true },
  });
});
