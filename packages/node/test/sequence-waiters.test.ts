import test from "ava";
import fc from "fast-check";
import { waitFor } from "@tally/testing";
import { SequenceWaiters } from "../src/shard/sequence-waiters.js";

const LONG = 60_000;

test("SequenceWaiters - release answers every waiter whose sequence is reached, smallest first", (t) => {
  const w = new SequenceWaiters<string>();
  const never = () => t.fail("no waiter should expire");
  for (const [need, id] of [
    [30, "c"],
    [10, "a"],
    [20, "b"],
    [40, "d"],
  ] as const)
    w.add(need, id, LONG, never);
  t.is(w.minNeed(), 10);
  const out: string[] = [];
  w.release(25, (id) => out.push(id));
  t.deepEqual(out, ["a", "b"]);
  t.is(w.size, 2);
  t.is(w.minNeed(), 30);
  w.drain((id) => out.push(id));
  t.deepEqual(out.slice(2).sort(), ["c", "d"]);
  t.is(w.size, 0);
  t.is(w.minNeed(), undefined);
});

test("SequenceWaiters - a waiter that times out gets onExpire once and is never released", async (t) => {
  const w = new SequenceWaiters<string>();
  const expired: string[] = [];
  w.add(5, "late", 10, (id) => expired.push(id));
  w.add(7, "kept", LONG, (id) => expired.push(id));
  await waitFor(() => expired.length > 0, { timeoutMs: 10_000, intervalMs: 5, message: "the 10 ms waiter to expire" });
  t.deepEqual(expired, ["late"]);
  t.is(w.size, 1);
  t.is(w.minNeed(), 7);
  const released: string[] = [];
  w.release(100, (id) => released.push(id));
  t.deepEqual(released, ["kept"]);
});

test("SequenceWaiters - many expired waiters are compacted away while a live one stays at the top", async (t) => {
  const w = new SequenceWaiters<number>();
  let expired = 0;
  w.add(1, -1, LONG, () => t.fail("the live waiter must not expire"));
  for (let i = 0; i < 500; i++) w.add(1000 + i, i, 1, () => expired++);
  await waitFor(() => expired === 500, {
    timeoutMs: 10_000,
    intervalMs: 5,
    message: "all 500 short waiters to expire",
  });
  t.is(expired, 500);
  t.is(w.size, 1);
  t.is(w.minNeed(), 1);
  const released: number[] = [];
  w.release(10_000, (i) => released.push(i));
  t.deepEqual(released, [-1]);
});

test("SequenceWaiters - any adds and releases: each waiter is released exactly once, when its need is reached", (t) => {
  const op = fc.oneof(
    fc.record({ add: fc.integer({ min: 0, max: 100 }) }),
    fc.record({ release: fc.integer({ min: 0, max: 100 }) }),
  );
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(op, { maxLength: 100 }), (ops) => {
        const w = new SequenceWaiters<number>();
        const pending = new Map<number, number>(); // id → need
        let id = 0;
        let done = 0;
        for (const o of ops) {
          if ("add" in o) {
            pending.set(id, o.add);
            w.add(o.add, id++, LONG, () => undefined);
          } else {
            done = Math.max(done, o.release);
            const out: number[] = [];
            w.release(done, (i) => out.push(i));
            const expected = [...pending].filter(([, need]) => need <= done).map(([i]) => i);
            if (out.length !== expected.length || !expected.every((i) => out.includes(i))) return false;
            for (let k = 1; k < out.length; k++) if (pending.get(out[k - 1]!)! > pending.get(out[k]!)!) return false;
            for (const i of out) pending.delete(i);
          }
          if (w.size !== pending.size) return false;
        }
        w.drain(() => undefined);
        return w.size === 0;
      }),
    ),
  );
});
