import test from "ava";
import { NODE_DEFAULTS, NodeError, resolveNodeOptions } from "../src/index.js";

test("limit options - defaults: 1000 waiting reads per shard, 1000 series points, no memory bound", (t) => {
  const r = resolveNodeOptions({ dataDir: "/tmp/x" });
  t.is(r.maxWaitingReads, 1000);
  t.is(NODE_DEFAULTS.maxWaitingReads, 1000);
  t.is(r.maxSeriesPoints, 1000);
  t.is(r.maxMemoryBytes, undefined);
  t.is(resolveNodeOptions({ dataDir: "/tmp/x", maxMemoryBytes: 800 * 2 ** 20 }).maxMemoryBytes, 800 * 2 ** 20);
});

test("limit options - out of range is BAD_OPTION naming the option and its range", (t) => {
  for (const [opts, text] of [
    [{ maxWaitingReads: 0 }, "maxWaitingReads must be an integer from 1 to 1000000, got 0"],
    [{ maxWaitingReads: 2.5 }, "maxWaitingReads must be an integer from 1 to 1000000, got 2.5"],
    [{ maxSeriesPoints: 0 }, "maxSeriesPoints must be an integer from 1 to 1000000, got 0"],
    [{ maxMemoryBytes: 0 }, `maxMemoryBytes must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}, got 0`],
    [{ maxMemoryBytes: 1.5 }, `maxMemoryBytes must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}, got 1.5`],
  ] as const) {
    const e = t.throws(() => resolveNodeOptions({ dataDir: "/tmp/x", ...opts }), { instanceOf: NodeError });
    t.is(e?.code, "BAD_OPTION");
    t.is(e?.message, text);
  }
});
