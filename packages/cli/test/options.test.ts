import test from "ava";
import { InvalidArgumentError } from "commander";
import {
  UNLIMITED,
  durationOrUnlimited,
  fractionArg,
  int,
  limitValue,
  periodsArg,
  sizeArg,
  sizeOrUnlimited,
  timeArg,
} from "../src/options.js";

test("int - parses signed integers and names the option when it refuses", (t) => {
  t.is(int("--shards")("64"), 64);
  t.is(int("--shards")("-3"), -3);
  for (const bad of ["1.5", "1e3", "", "0x10", "12abc", " 1"]) {
    const e = t.throws(() => int("--shards")(bad), { instanceOf: InvalidArgumentError }, bad);
    t.is(e?.message, "--shards must be an integer");
  }
});

test("periodsArg - parses a period list and refuses unknown periods", (t) => {
  t.deepEqual(periodsArg("all,hour,day"), ["all", "hour", "day"]);
  t.throws(() => periodsArg("all,fortnight"), { instanceOf: InvalidArgumentError });
});

test("fractionArg - takes (0, 1] only", (t) => {
  t.is(fractionArg("0.25"), 0.25);
  t.is(fractionArg("1"), 1);
  for (const bad of ["0", "-0.5", "1.01", "x", ""])
    t.throws(() => fractionArg(bad), { instanceOf: InvalidArgumentError });
});

test("timeArg - integers are epoch ms, anything else is passed on as text", (t) => {
  t.is(timeArg("1763726400000"), 1763726400000);
  t.is(timeArg("2026-11-20T10:00:00Z"), "2026-11-20T10:00:00Z");
  t.is(timeArg("1.5"), "1.5");
});

test("durationOrUnlimited, sizeOrUnlimited - a limit, or the words that lift it", (t) => {
  t.is(durationOrUnlimited("--log-max-age")("30d"), 30 * 86_400_000);
  t.is(sizeOrUnlimited("--log-max-bytes")("10GiB"), 10 * 2 ** 30);
  for (const word of ["unlimited", "forever", "None"]) {
    t.is(durationOrUnlimited("--log-max-age")(word), UNLIMITED);
    t.is(sizeOrUnlimited("--log-max-bytes")(word), UNLIMITED);
  }
  t.is(limitValue(UNLIMITED), null);
  t.is(limitValue(5), 5);
  t.throws(() => durationOrUnlimited("--log-max-age")("soon"), {
    instanceOf: InvalidArgumentError,
    message: /--log-max-age/,
  });
  t.throws(() => sizeOrUnlimited("--log-max-bytes")("big"), {
    instanceOf: InvalidArgumentError,
    message: /--log-max-bytes/,
  });
});

test("sizeArg - a size in bytes; no word lifts it", (t) => {
  t.is(sizeArg("--max-memory")("800MiB"), 800 * 2 ** 20);
  t.is(sizeArg("--max-memory")("2GB"), 2e9);
  t.is(sizeArg("--max-memory")("1"), 1);
  for (const v of ["unlimited", "0", "-5MB", "lots"]) {
    t.throws(() => sizeArg("--max-memory")(v), { instanceOf: InvalidArgumentError, message: /--max-memory/ }, v);
  }
});
