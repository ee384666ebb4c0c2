import test from "ava";
import { pino } from "pino";
import { Registry } from "prom-client";
import {
  MEMORY_RESUME_FRACTION,
  MemoryGuard,
  formatMemory,
  refusesShards,
  refusingMembers,
} from "../src/cluster/memory-guard.js";

const MiB = 2 ** 20;

/** A guard on a memory figure the test sets, with its log lines and change calls recorded. */
function guardOn(maxBytes: number | undefined, startBytes: number) {
  const mem = { bytes: startBytes };
  const lines: { level: number; msg: string }[] = [];
  let changes = 0;
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const guard = new MemoryGuard({
    maxBytes,
    checkEveryMs: 60_000,
    log,
    onChange: () => changes++,
    sample: () => mem.bytes,
  });
  return { guard, mem, lines, changes: () => changes };
}

test("refusesShards - over the bound starts refusing; only under 90% of it stops", (t) => {
  t.is(MEMORY_RESUME_FRACTION, 0.9);
  t.false(refusesShards(800 * MiB, 800 * MiB, false), "at the bound is not over it");
  t.true(refusesShards(800 * MiB + 1, 800 * MiB, false));
  t.true(refusesShards(750 * MiB, 800 * MiB, true), "between 90% and the bound: keeps refusing");
  t.true(refusesShards(720 * MiB + 1, 800 * MiB, true));
  t.false(refusesShards(720 * MiB, 800 * MiB, true));
});

test("MemoryGuard - refuses above the bound, resumes under 90%, each change logged and signalled once", (t) => {
  const g = guardOn(800 * MiB, 500 * MiB);
  t.false(g.guard.refusing);
  t.deepEqual(g.guard.describe(), {});
  t.deepEqual(g.guard.status(), { rssBytes: 500 * MiB, maxBytes: 800 * MiB });

  g.mem.bytes = 812 * MiB;
  t.true(g.guard.check());
  t.true(g.guard.refusing);
  t.is(g.changes(), 1);
  t.is(g.guard.reason, "resident memory 812 MiB is over --max-memory 800 MiB");
  t.deepEqual(g.guard.describe(), { refusingShards: "resident memory 812 MiB is over --max-memory 800 MiB" });
  t.is(g.guard.status().refusingShards, "resident memory 812 MiB is over --max-memory 800 MiB");

  // Still over, then between 90% and the bound: no new change, no new log line.
  g.mem.bytes = 900 * MiB;
  t.false(g.guard.check());
  g.mem.bytes = 760 * MiB;
  t.false(g.guard.check());
  t.true(g.guard.refusing);
  t.is(g.changes(), 1);

  g.mem.bytes = 700 * MiB;
  t.true(g.guard.check());
  t.false(g.guard.refusing);
  t.is(g.guard.reason, undefined);
  t.is(g.changes(), 2);

  t.deepEqual(
    g.lines.map((l) => [l.level, l.msg]),
    [
      [40, "resident memory 812 MiB is over --max-memory 800 MiB: taking no more shards"],
      [30, "resident memory 700 MiB is back under 90% of --max-memory: taking shards again"],
    ],
  );
});

test("MemoryGuard - the first sample is taken at construction: a node over its bound refuses from the start", (t) => {
  const g = guardOn(1, 100 * MiB);
  t.true(g.guard.refusing);
  t.is(g.guard.reason, "resident memory 100 MiB is over --max-memory 1 B");
  t.is(g.changes(), 0, "nothing to signal: nothing was planned yet");
  t.is(g.lines.length, 1, "but it is logged");
});

test("MemoryGuard - without a bound it never refuses and exports no limit", async (t) => {
  const g = guardOn(undefined, Number.MAX_SAFE_INTEGER);
  t.false(g.guard.refusing);
  t.false(g.guard.check());
  t.deepEqual(g.guard.status(), { rssBytes: Number.MAX_SAFE_INTEGER });
  const registry = new Registry();
  g.guard.register(registry);
  const text = await registry.metrics();
  t.regex(text, /^tally_refusing_shards 0$/m);
  t.false(text.includes("tally_memory_limit_bytes"));
});

test("MemoryGuard - the gauges follow the guard at scrape time", async (t) => {
  const g = guardOn(800 * MiB, 500 * MiB);
  const registry = new Registry();
  g.guard.register(registry);
  t.regex(await registry.metrics(), /^tally_refusing_shards 0$/m);
  t.regex(await registry.metrics(), new RegExp(`^tally_memory_limit_bytes ${800 * MiB}$`, "m"));
  g.mem.bytes = 801 * MiB;
  g.guard.check();
  t.regex(await registry.metrics(), /^tally_refusing_shards 1$/m);
});

test("refusingMembers - this node by its guard, the others by their last heartbeat", (t) => {
  const over = guardOn(1, 2).guard;
  const under = guardOn(10, 2).guard;
  const infos: Record<string, { refusingShards?: string }> = {
    a: { refusingShards: "stale: a's own guard decides for a" },
    b: {},
    c: { refusingShards: "resident memory 2 GiB is over --max-memory 1 GiB" },
  };
  const infoOf = (id: string) => infos[id];
  t.deepEqual(refusingMembers(["a", "b", "c", "d"], "a", under, infoOf), ["c"]);
  t.deepEqual(refusingMembers(["a", "b", "c", "d"], "a", over, infoOf), ["a", "c"]);
  t.deepEqual(refusingMembers(["b"], "b", under, infoOf), []);
});

test("formatMemory - IEC units a person reads", (t) => {
  t.is(formatMemory(1), "1 B");
  t.is(formatMemory(4096), "4 KiB");
  t.is(formatMemory(812 * MiB), "812 MiB");
  t.is(formatMemory(1.5 * 2 ** 30), "1.5 GiB");
});
