/**
 * Memory part of bench/ingest.ts, in a process of its own so the heap holds nothing else:
 *
 *   node --expose-gc --import tsx bench/memory.ts [--counters 100000] [--events-per-counter 4]
 *
 * Fills one `ShardCounts` (periods all, hour, day, week, month) to about a million
 * (counter, period, bucket) entries and measures the retained heap per entry after full GCs,
 * then does the same for the baselines. Prints one JSON object on stdout.
 */
import { ChangeConsumer, ShardCounts } from "@tally/core";
import { intArg } from "./lib/args.js";
import { hrNow, msSince } from "./lib/time.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("memory.ts needs node --expose-gc");

const counters = intArg("counters", 100_000, "memory.ts");
const perCounter = intArg("events-per-counter", 4, "memory.ts");

/** Heap after full collections; several, because one pass can leave weak/finalised leftovers. */
function heap(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

/**
 * Retained heap of what `build` returns. Each build runs in a frame of its own that has
 * returned before the second measurement: an interpreter frame keeps dead temporaries alive
 * (they would be counted), and an optimised frame lets the GC take a live-but-unread variable
 * (it would not be), so only the returned value is held, through `held`, while measuring.
 */
function measure<T>(build: () => T, size: (v: T) => number): { bytes: number; entries: number; bytesPerEntry: number } {
  const before = heap();
  const held = [build()];
  const bytes = heap() - before;
  const entries = size(held[0]!);
  return { bytes, entries, bytesPerEntry: bytes / entries };
}

const HOUR = 3_600_000;
const BASE = Date.UTC(2026, 0, 5); // a Monday
// Events of one counter land 25 h apart: a new hour and a new day each time, a new week or
// month now and then. Counters are staggered by a few hours so buckets are not all aligned.
const tsOf = (counter: number, j: number) => BASE + (counter % 24) * HOUR + j * 25 * HOUR;

let applyMs = 0;
function fillTally(): ShardCounts {
  const counts = new ShardCounts(["all", "hour", "day", "week", "month"]);
  const t0 = hrNow();
  for (let j = 0; j < perCounter; j++) {
    for (let c = 0; c < counters; c++) {
      // Names are built here and not kept, so only what ShardCounts retains is measured.
      counts.apply("bench", `k${c}`, 1, tsOf(c, j));
    }
  }
  applyMs = msSince(t0);
  return counts;
}

/** Right after applying: every entry also sits in its counter's dirty set. */
const withDirty = measure(fillTally, (c) => c.entries);
/** In a running node a snapshot takes the dirty marks every few seconds: the steady state. */
const tally = measure(
  () => {
    const c = fillTally();
    const take = c.beginTake(ChangeConsumer.snapshot);
    take.step(Infinity);
    c.endTake(take, true);
    return c;
  },
  (c) => c.entries,
);
const entries = tally.entries;

/** The baseline: one flat Map<number, number> holding the same number of integer entries. */
const flat = measure(
  () => {
    const m = new Map<number, number>();
    for (let i = 0; i < entries; i++) m.set(i * 8 + 1, i & 1023);
    return m;
  },
  (m) => m.size,
);

/** Informative: Tally's shape without names or dirty tracking, one inner Map per counter. */
const perCounterEntries = Math.max(1, Math.round(entries / counters) - 1);
const nested = measure(
  () => {
    const outer = new Map<number, Map<number, number>>();
    for (let c = 0; c < counters; c++) {
      const m = new Map<number, number>();
      for (let k = 0; k < perCounterEntries; k++) m.set(k * 8 + 1, 1);
      outer.set(c, m);
    }
    return outer;
  },
  (o) => o.size * (perCounterEntries + 1),
);

process.stdout.write(
  JSON.stringify({
    counters,
    eventsPerCounter: perCounter,
    events: counters * perCounter,
    entries,
    applyMs,
    applyEventsPerSec: (counters * perCounter) / (applyMs / 1000),
    tally,
    tallyWithDirty: withDirty,
    baseline: { kind: "Map<number, number>", ...flat },
    nestedMaps: {
      kind: "Map<number, Map<number, number>> (one inner map per counter, all-time counted as an entry)",
      ...nested,
    },
  }) + "\n",
);
