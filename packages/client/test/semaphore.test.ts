import test from "ava";
import { Semaphore } from "../src/semaphore.js";

test("semaphore - at most `permits` holders; waiters served in arrival order", async (t) => {
  const s = new Semaphore(2);
  t.true(s.tryAcquire());
  await s.acquire();
  t.false(s.tryAcquire());
  const order: number[] = [];
  const waits = [1, 2, 3].map((i) => s.acquire().then(() => order.push(i)));
  t.is(s.waiting, 3);
  s.release();
  await waits[0];
  t.deepEqual(order, [1]);
  s.release();
  s.release();
  await Promise.all(waits.slice(1));
  t.deepEqual(order, [1, 2, 3]);
  t.is(s.waiting, 0);
  t.is(s.free, 0);
  // Two holders now (waiters 2 and 3); each gives its permit back.
  s.release();
  s.release();
  t.is(s.free, 2);
});

test("semaphore - a long queue drains in order and the permit count ends where it started", async (t) => {
  const s = new Semaphore(1);
  await s.acquire();
  const order: number[] = [];
  const n = 5000;
  const waits = Array.from({ length: n }, (_, i) =>
    s.acquire().then(() => {
      order.push(i);
      s.release();
    }),
  );
  s.release();
  await Promise.all(waits);
  t.deepEqual(
    order,
    Array.from({ length: n }, (_, i) => i),
  );
  t.is(s.free, 1);
});
