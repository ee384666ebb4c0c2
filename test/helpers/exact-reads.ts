import type { ExecutionContext } from "ava";
import type { TallyClient } from "@tally/client";
import type { Truth } from "./truth.js";

/**
 * Reads every counter of `truth` through `client` with `minSeq`: its all-time value and
 * each bucket it published into (every period the truth kept), and asserts each equals
 * the ground truth. At most `concurrency` reads at once. Returns how many were compared.
 */
export async function assertCountsExact(
  t: ExecutionContext,
  client: TallyClient,
  truth: Truth,
  minSeq: number,
  concurrency = 64,
): Promise<number> {
  t.true(truth.counters.size > 0, "the test counted something");
  const checks: (() => Promise<void>)[] = [];
  for (const counter of truth.counters) {
    const dot = counter.indexOf(".");
    const ns = counter.slice(0, dot);
    const name = counter.slice(dot + 1);
    checks.push(async () => {
      const r = await client.get(ns, name, { minSeq });
      t.is(r.value, truth.value(ns, name, "all"), `${counter} all-time`);
    });
  }
  for (const b of truth.buckets()) {
    checks.push(async () => {
      const r = await client.get(b.ns, b.name, { period: b.period, at: b.bucket, minSeq });
      t.is(r.value, b.value, `${b.ns}.${b.name} ${b.period} ${b.bucket}`);
    });
  }
  let next = 0;
  const worker = async () => {
    while (next < checks.length) await checks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, checks.length) }, worker));
  return checks.length;
}
