import test from "ava";
import { waitFor } from "@tally/testing";
import { backgroundLoop } from "./helpers/background.js";
import { within } from "./helpers/deadline.js";

// The failure this guards against: a loop whose call rejects at once (its connection is
// closed) spun in microtasks, so no timer — not even ava's timeout — could ever fire.

test("background loop - a step that rejects at once still lets timers run, and the loop ends when its connection closes", async (t) => {
  let closed = false;
  const failures: unknown[] = [];
  const loop = backgroundLoop(t, { name: "spinner", nc: { isClosed: () => closed } }, async () => {
    try {
      await Promise.reject(new Error("connection closed"));
    } catch (err) {
      failures.push(err);
    }
  });
  // Only fires if the loop yields to the event loop.
  await within(
    new Promise<void>((resolve) => setTimeout(resolve, 20)),
    5000,
    "a 20 ms timer to fire while the loop runs",
  );
  t.true(loop.running);
  t.true(loop.iterations > 0);
  closed = true;
  const count = loop.iterations;
  await within(loop.stop(), 5000, "the loop to end");
  t.false(loop.running);
  t.true(loop.iterations - count <= 1, "at most the step in flight ran after the close");
  t.true(failures.length > 0);
});

test("background loop - a step that throws ends the loop and stop() rejects with its error", async (t) => {
  const loop = backgroundLoop(t, { name: "thrower" }, () => Promise.reject(new Error("boom")));
  await t.throwsAsync(within(loop.stop(), 5000, "the loop to end"), { message: "boom" });
  t.false(loop.running);
});

test("background loop - a loop nobody stops ends at its deadline, saying so", async (t) => {
  const loop = backgroundLoop(t, { name: "forgotten", timeoutMs: 50 }, () => new Promise((r) => setTimeout(r, 5)));
  await waitFor(() => !loop.running, { timeoutMs: 5000, message: "the loop to end at its 50 ms deadline" });
  await t.throwsAsync(loop.stop(), { message: /"forgotten" still running 50 ms after it started/ });
});

test("background loop - stop() waits for the steps in flight, with several workers", async (t) => {
  let inFlight = 0;
  let finished = 0;
  const loop = backgroundLoop(t, { name: "workers", concurrency: 4 }, async () => {
    inFlight++;
    await new Promise((r) => setTimeout(r, 10));
    inFlight--;
    finished++;
  });
  await within(
    new Promise<void>((resolve) => setTimeout(resolve, 30)),
    5000,
    "a 30 ms timer to fire while the loop runs",
  );
  await within(loop.stop(), 5000, "the loop to stop");
  t.is(inFlight, 0, "no step still running after stop()");
  t.is(finished, loop.iterations);
  t.false(loop.running);
});
