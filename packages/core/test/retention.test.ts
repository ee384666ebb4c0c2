import test from "ava";
import {
  DEFAULT_RETENTION,
  bucketIndex,
  bucketStart,
  firstRetainedIndex,
  formatDuration,
  formatRetention,
  parseDuration,
  parseRetention,
  retainedFrom,
} from "@tally/core";

const H = 3_600_000;
const D = 24 * H;

test("durations parse with units and round-trip through formatDuration", (t) => {
  t.is(parseDuration("48h", "x"), 48 * H);
  t.is(parseDuration("90d", "x"), 90 * D);
  t.is(parseDuration("1h30m", "x"), 90 * 60_000);
  t.is(parseDuration("2w", "x"), 14 * D);
  t.is(parseDuration("1500", "x"), 1500);
  t.is(formatDuration(90 * D), "90d");
  t.is(formatDuration(48 * H), "2d");
  t.is(formatDuration(90 * 60_000), "90m");
  t.is(formatDuration(1500), "1500ms");
  for (const bad of ["", "0", "0h", "5x", "h", "-1d", "1.5h", "99999999999999d"]) {
    const err = t.throws(() => parseDuration(bad, "log max age"), { instanceOf: Error }, bad);
    t.regex(err.message, /log max age/);
  }
});

test("retention parses over the defaults, forever removes a period, bad items are named", (t) => {
  t.deepEqual(parseRetention(""), DEFAULT_RETENTION);
  t.deepEqual(parseRetention("minute=2h"), { minute: 2 * H, hour: 90 * D });
  t.deepEqual(parseRetention("hour=forever, day=400d"), { minute: 48 * H, day: 400 * D });
  t.deepEqual(parseRetention("hour=1d", {}), { hour: D });
  t.is(formatRetention({ minute: 48 * H, hour: 90 * D }), "minute=2d,hour=90d");
  t.is(formatRetention({}), "forever");
  t.throws(() => parseRetention("all=1d"), { message: /PERIOD=DURATION/ });
  t.throws(() => parseRetention("hour"), { message: /PERIOD=DURATION/ });
  t.throws(() => parseRetention("hour=soon"), { message: /retention of hour/ });
});

test("a bucket is kept until its end plus the retention has passed", (t) => {
  const keep = 2 * H;
  const now = Date.UTC(2026, 0, 10, 12, 30);
  // Hour 09:00-10:00 ends at 10:00; 10:00 + 2h = 12:00 <= 12:30: expired. 10:00-11:00 ends 11:00 + 2h = 13:00 > now: kept.
  t.is(firstRetainedIndex("hour", keep, now), bucketIndex("hour", Date.UTC(2026, 0, 10, 10)));
  t.is(retainedFrom("hour", keep, now), Date.UTC(2026, 0, 10, 10));
  // Exactly at the boundary the bucket is gone.
  t.is(firstRetainedIndex("hour", keep, Date.UTC(2026, 0, 10, 13)), bucketIndex("hour", Date.UTC(2026, 0, 10, 11)));
  t.is(firstRetainedIndex("day", undefined, now), -Infinity);
  t.is(retainedFrom("day", undefined, now), undefined);
  // Months have uneven lengths: the rule is by the bucket's real end.
  const feb = bucketIndex("month", Date.UTC(2026, 1, 1));
  t.is(firstRetainedIndex("month", D, bucketStart("month", feb + 1) + D - 1), feb);
  t.is(firstRetainedIndex("month", D, bucketStart("month", feb + 1) + D), feb + 1);
});
