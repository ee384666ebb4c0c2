import test from "ava";
import { errors } from "@nats-io/transport-node";
import { ClientError } from "@tally/client";
import { sparkline } from "../src/chart.js";
import { CliErrorCode, describeError } from "../src/errors.js";
import { bucketHeading, bucketLabel, bucketOf, formatCount } from "../src/format.js";
import { formatTable } from "../src/table.js";

test("formatTable - aligned columns two spaces apart, numbers right-aligned, no trailing spaces", (t) => {
  const out = formatTable(
    ["NAME", "VALUE"],
    [
      ["home", "12"],
      ["example.com", "1,234"],
    ],
    { align: ["left", "right"] },
  );
  t.is(out, "NAME         VALUE\nhome            12\nexample.com  1,234");
  t.is(formatTable(["A", "B"], []), "A  B");
});

test("sparkline - one mark per bucket, scaled from 0; a long series sums neighbours", (t) => {
  t.deepEqual(sparkline([0, 3, 6], 60), { line: "▁▄█", bucketsPerMark: 1, max: 6 });
  // A flat series is drawn at its height, not as a floor.
  t.is(sparkline([5, 5, 5], 60).line, "███");
  t.is(sparkline([0, 0], 60).line, "▁▁");
  const long = sparkline(
    Array.from({ length: 1000 }, () => 1),
    60,
  );
  t.is(long.bucketsPerMark, 17);
  t.is(long.line.length, Math.ceil(1000 / 17));
  t.is(long.max, 17);
  t.deepEqual(sparkline([], 60), { line: "", bucketsPerMark: 1, max: 0 });
});

test("bucketLabel, bucketHeading - as short as the period allows, in UTC", (t) => {
  t.is(bucketLabel("minute", "2026-11-20T10:05:00.000Z"), "2026-11-20 10:05");
  t.is(bucketLabel("hour", "2026-11-20T10:00:00.000Z"), "2026-11-20 10:00");
  t.is(bucketLabel("day", "2026-11-20T00:00:00.000Z"), "2026-11-20");
  t.is(bucketLabel("month", "2026-11-01T00:00:00.000Z"), "2026-11");
  t.is(bucketLabel("year", "2026-01-01T00:00:00.000Z"), "2026");
  t.is(bucketHeading("all", undefined), "all time");
  t.is(bucketHeading("week", "2026-11-16T00:00:00.000Z"), "week of 2026-11-16");
  t.is(bucketHeading("day", "2026-11-20T00:00:00.000Z"), "day 2026-11-20");
});

test("bucketOf - the bucket a node picks for --at", (t) => {
  t.is(bucketOf("all", 0), undefined);
  t.is(bucketOf("day", "2026-11-20T23:59:59Z"), "2026-11-20T00:00:00.000Z");
  t.is(bucketOf("week", "2026-11-20"), "2026-11-16T00:00:00.000Z");
  t.is(bucketOf("hour", Date.UTC(2026, 10, 20, 10, 30)), "2026-11-20T10:00:00.000Z");
});

test("formatCount - thousands grouped", (t) => {
  t.is(formatCount(1234567), "1,234,567");
  t.is(formatCount(-5), "-5");
});

test("describeError - a code for every error, and a hint saying what to do", (t) => {
  const ctx = { natsUrl: "nats://127.0.0.1:4222" };
  const noNode = describeError(new ClientError("NO_RESPONDERS", "no Tally node answers count.get.web.home"), ctx);
  t.is(noNode.code, "NO_RESPONDERS");
  t.regex(noNode.hint!, /tally node .*tally dev/);
  t.regex(describeError(new ClientError("NOT_INITIALIZED", "x"), ctx).hint!, /tally init/);
  const partial = describeError(new ClientError("PARTIAL", "x", { missingShards: [3, 7] }), ctx);
  t.deepEqual(partial.missingShards, [3, 7]);
  t.regex(partial.hint!, /shards 3, 7 did not answer/);
  const refused = describeError(new errors.ConnectionError("connection refused"), ctx);
  t.is(refused.code, CliErrorCode.CONNECTION_FAILED);
  t.regex(refused.hint!, /nats:\/\/127\.0\.0\.1:4222.*tally dev/);
  t.is(describeError(new Error("boom"), ctx).code, CliErrorCode.ERROR);
  t.is(describeError(new ClientError("BAD_REQUEST", "bad limit"), ctx).hint, undefined);
});
