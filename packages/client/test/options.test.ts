import test from "ava";
import { ClientError, resolveBatcherOptions, resolveClientOptions } from "../src/index.js";

test("options - client defaults", (t) => {
  t.deepEqual(resolveClientOptions(), {
    requestTimeoutMs: 6000,
    retryDeadlineMs: 15_000,
    maxInFlight: 256,
    publishTimeoutMs: 5000,
    publishRetryDeadlineMs: 15_000,
  });
});

test("options - batcher defaults", (t) => {
  t.deepEqual(resolveBatcherOptions(), { flushIntervalMs: 100, maxKeys: 20_000, maxPendingKeys: 100_000 });
});

test("options - out of range values throw BAD_OPTION naming the option", (t) => {
  for (const [opts, name] of [
    [{ maxInFlight: 0 }, "maxInFlight"],
    [{ maxInFlight: 1.5 }, "maxInFlight"],
    [{ publishRetryDeadlineMs: -1 }, "publishRetryDeadlineMs"],
    [{ requestTimeoutMs: Number.NaN }, "requestTimeoutMs"],
    [{ publishTimeoutMs: 0 }, "publishTimeoutMs"],
  ] as const) {
    const err = t.throws(() => resolveClientOptions(opts), { instanceOf: ClientError });
    t.is(err?.code, "BAD_OPTION");
    t.regex(err?.message ?? "", new RegExp(name));
  }
  for (const [opts, name] of [
    [{ flushIntervalMs: 0 }, "flushIntervalMs"],
    [{ maxKeys: 0 }, "maxKeys"],
    [{ maxKeys: 100, maxPendingKeys: 99 }, "maxPendingKeys"],
  ] as const) {
    const err = t.throws(() => resolveBatcherOptions(opts), { instanceOf: ClientError });
    t.is(err?.code, "BAD_OPTION");
    t.regex(err?.message ?? "", new RegExp(name));
  }
});
