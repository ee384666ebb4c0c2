import test from "ava";
import fc from "fast-check";
import { gapKey, isMarked, logGapWarning, nextLogGap, parseGapKey, type LogGapRecord } from "../src/admin/log-gaps.js";

const record = (restoredSeq: number, logFirstSeq: number, accepted = false): LogGapRecord => ({
  shard: 3,
  restoredSeq,
  logFirstSeq,
  detectedAt: "2026-01-01T00:00:00.000Z",
  node: "n",
  ...(accepted ? { acceptedAt: "2026-01-02T00:00:00.000Z" } : {}),
});

test("nextLogGap - a gap only when the log lost the event after the restore point", (t) => {
  t.is(nextLogGap(0, 1, undefined), undefined, "a new cluster: restore 0, log from 1");
  t.is(nextLogGap(0, 0, undefined), undefined, "an empty log");
  t.is(nextLogGap(99, 100, undefined), undefined, "the log holds the next event");
  t.is(nextLogGap(500, 100, undefined), undefined, "restored past the log's start");
  t.deepEqual(nextLogGap(98, 100, undefined), { restoredSeq: 98, logFirstSeq: 100 });
  t.deepEqual(nextLogGap(0, 2, undefined), { restoredSeq: 0, logFirstSeq: 2 });
});

test("nextLogGap - a marked shard's mark widens; an accepted range is never marked again", (t) => {
  t.is(nextLogGap(50, 100, record(50, 100)), undefined, "the same gap again");
  t.is(nextLogGap(60, 90, record(50, 100)), undefined, "inside the mark");
  t.deepEqual(nextLogGap(50, 150, record(50, 100)), { restoredSeq: 50, logFirstSeq: 150 });
  t.deepEqual(nextLogGap(40, 100, record(50, 100)), { restoredSeq: 40, logFirstSeq: 100 });
  t.is(nextLogGap(50, 100, record(50, 100, true)), undefined, "restored from the same old state after accepting");
  t.deepEqual(
    nextLogGap(10, 80, record(50, 100, true)),
    { restoredSeq: 10, logFirstSeq: 80 },
    "a restore older than the accepted one: sequences nobody accepted",
  );
  t.deepEqual(nextLogGap(50, 150, record(50, 100, true)), { restoredSeq: 99, logFirstSeq: 150 }, "only the new part");
  t.deepEqual(nextLogGap(120, 150, record(50, 100, true)), { restoredSeq: 120, logFirstSeq: 150 });
});

test("nextLogGap - whatever the record, a result is a real gap that covers the asked one beyond accepted ranges", (t) => {
  const seq = fc.integer({ min: 0, max: 1000 });
  t.notThrows(() =>
    fc.assert(
      fc.property(seq, seq, fc.option(fc.tuple(seq, seq, fc.boolean()), { nil: undefined }), (r, f, prev) => {
        const current = prev && prev[0] + 1 < prev[1] ? record(prev[0], prev[1], prev[2]) : undefined;
        const gap = nextLogGap(r, f, current);
        if (r + 1 >= f) return gap === undefined;
        if (!gap) return current !== undefined && f <= current.logFirstSeq && r >= current.restoredSeq;
        const floor = current?.acceptedAt ? current.logFirstSeq - 1 : -1;
        return gap.restoredSeq + 1 < gap.logFirstSeq && gap.logFirstSeq >= f && gap.restoredSeq <= Math.max(r, floor);
      }),
    ),
  );
});

test("gapKey - round-trips, other keys are not gaps", (t) => {
  t.is(gapKey(12), "gap.shard-12");
  t.is(parseGapKey(gapKey(12)), 12);
  for (const k of ["cluster", "gap.shard-", "gap.shard-01", "shard-1", "gap.shard-1.x"])
    t.is(parseGapKey(k), undefined, k);
  t.true(isMarked(record(1, 5)));
  t.false(isMarked(record(1, 5, true)));
  t.false(isMarked(undefined));
  t.regex(logGapWarning(record(1, 5)), /shard 3 with sequence 2-4 .*\(tally accept-gap --shard 3\)/);
});
