import test from "ava";
import { TallyError } from "@tally/core";
import { TestingError, TestingErrorCode, waitFor } from "../src/index.js";

test("waitFor - resolves to the first truthy value", async (t) => {
  let n = 0;
  const value = await waitFor(() => (++n >= 3 ? `done after ${n}` : undefined), { intervalMs: 1 });
  t.is(value, "done after 3");
});

test("waitFor - a throw counts as not yet", async (t) => {
  let n = 0;
  const value = await waitFor(
    async () => {
      if (++n < 3) throw new Error("not ready");
      return n;
    },
    { intervalMs: 1 },
  );
  t.is(value, 3);
});

test("waitFor - on the deadline the error holds the message and the last error", async (t) => {
  const last = new Error("still booting");
  const err = await t.throwsAsync(
    waitFor(
      () => {
        throw last;
      },
      { timeoutMs: 50, intervalMs: 5, message: "the widget" },
    ),
    { instanceOf: TestingError },
  );
  t.is(err?.code, TestingErrorCode.WaitTimeout);
  t.true(err instanceof TallyError, "a TallyError like every error of the project");
  t.is(err?.name, "TestingError");
  t.regex(err?.message ?? "", /the widget/);
  t.regex(err?.message ?? "", /still booting/);
  t.is(err?.cause, last);
});

test("waitFor - an attempt that hangs does not outlive the deadline", async (t) => {
  const started = Date.now();
  const err = await t.throwsAsync(
    waitFor(() => new Promise<boolean>(() => undefined), {
      timeoutMs: 50,
      message: "a hung check",
    }),
  );
  t.regex(err?.message ?? "", /did not settle/);
  t.true(Date.now() - started < 1000);
});

test("waitFor - an attempt that hangs past attemptTimeoutMs is abandoned and the next one runs", async (t) => {
  let n = 0;
  const value = await waitFor(() => (++n === 1 ? new Promise<number>(() => undefined) : n), {
    timeoutMs: 5000,
    attemptTimeoutMs: 50,
    intervalMs: 1,
  });
  t.is(value, 2);
});

test("waitFor - a timeout after hung attempts says how many were abandoned", async (t) => {
  const err = await t.throwsAsync(
    waitFor(() => new Promise<boolean>(() => undefined), {
      timeoutMs: 200,
      attemptTimeoutMs: 40,
      message: "a stuck status",
    }),
  );
  t.regex(err?.message ?? "", /a stuck status/);
  t.regex(err?.message ?? "", /attempts abandoned after 40 ms/);
});

test("waitFor - attemptTimeoutMs must be positive", async (t) => {
  const err = await t.throwsAsync(
    waitFor(() => true, { attemptTimeoutMs: 0 }),
    { instanceOf: TestingError },
  );
  t.is(err?.code, TestingErrorCode.BadOption);
  t.regex(err?.message ?? "", /attemptTimeoutMs/);
});
