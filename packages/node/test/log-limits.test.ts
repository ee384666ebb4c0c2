import test from "ava";
import fc from "fast-check";
import type { StreamInfo } from "@nats-io/jetstream";
import type { NodeError } from "../src/errors.js";
import {
  LOG_MAX_BYTES_FLOOR,
  checkLogLimits,
  checkNodeCheckpointInterval,
  formatSize,
  parseSize,
} from "../src/admin/log-limits.js";
import { limitFields, resolveStreamLimits } from "../src/admin/stream-limits.js";

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as NodeError).code;
  }
  return undefined;
};

test("parseSize - bytes, SI and IEC units, any case", (t) => {
  t.is(parseSize("1048576", "x"), 1048576);
  t.is(parseSize("500MB", "x"), 500_000_000);
  t.is(parseSize("10GiB", "x"), 10 * 2 ** 30);
  t.is(parseSize("1.5kib", "x"), 1536);
  t.is(parseSize(" 2 MiB ", "x"), 2 * 2 ** 20);
  t.is(parseSize("7b", "x"), 7);
  for (const bad of ["", "MB", "-1MB", "0", "1.2.3GB", "10 parsecs", "1e3", "0.0001B", "99999999TiB"]) {
    t.is(
      code(() => parseSize(bad, "--log-max-bytes")),
      "BAD_OPTION",
      bad,
    );
  }
  t.throws(() => parseSize("lots", "--log-max-bytes"), { message: /--log-max-bytes: "lots" is not a size/ });
});

test("formatSize - parses back to the same bytes", (t) => {
  t.is(formatSize(LOG_MAX_BYTES_FLOOR), "1MiB");
  t.is(formatSize(1500), "1500B");
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 50 }), (n) => parseSize(formatSize(n), "x") === n));
});

test("checkLogLimits - a max age under ten checkpoint intervals or a size under the floor is refused, with the fix", (t) => {
  t.notThrows(() => checkLogLimits({ maxAgeMs: undefined, maxBytes: undefined }, 5000, "x"));
  t.notThrows(() => checkLogLimits({ maxAgeMs: 50_000, maxBytes: LOG_MAX_BYTES_FLOOR }, 5000, "x"));
  const age = t.throws(() => checkLogLimits({ maxAgeMs: 49_999, maxBytes: undefined }, 5000, "stated"));
  t.is((age as NodeError).code, "BAD_OPTION");
  t.regex(age!.message, /under 10 checkpoint intervals .*Use --log-max-age 50s or more/);
  const bytes = t.throws(() => checkLogLimits({ maxAgeMs: undefined, maxBytes: LOG_MAX_BYTES_FLOOR - 1 }, 5000, "x"));
  t.is((bytes as NodeError).code, "BAD_OPTION");
  t.regex(bytes!.message, /under the floor of 1MiB/);
});

test("checkNodeCheckpointInterval - a node must checkpoint at least ten times per log max age", (t) => {
  t.notThrows(() => checkNodeCheckpointInterval(3_600_000, 0));
  t.notThrows(() => checkNodeCheckpointInterval(3000, 30_000 * 1e6));
  const e = t.throws(() => checkNodeCheckpointInterval(3001, 30_000 * 1e6));
  t.is((e as NodeError).code, "BAD_OPTION");
  t.regex(e!.message, /--checkpoint-interval 3000 or less/);
});

const stream = (config: Partial<StreamInfo["config"]>) => ({ config }) as StreamInfo;
const interval = { intervalMs: 500, source: "stated" };

test("resolveStreamLimits - unset keeps the streams' values, null lifts them, new streams get the defaults", (t) => {
  const fresh = resolveStreamLimits({}, undefined, undefined, interval);
  t.deepEqual(fresh.log, { maxAgeMs: undefined, maxBytes: undefined });
  t.is(fresh.dedupWindowMs, 120_000);
  t.is(fresh.dlqMaxAgeMs, 30 * 86_400_000);
  const events = stream({ max_age: 3_600_000 * 1e6, max_bytes: 2 ** 30, duplicate_window: 60_000 * 1e6 });
  const dlq = stream({ max_age: 0 });
  const kept = resolveStreamLimits({}, events, dlq, interval);
  t.deepEqual(kept.log, { maxAgeMs: 3_600_000, maxBytes: 2 ** 30 });
  t.is(kept.dedupWindowMs, 60_000);
  t.is(kept.dlqMaxAgeMs, undefined, "an existing dead-letter stream without a limit keeps none");
  const lifted = resolveStreamLimits(
    { logMaxAgeMs: null, logMaxBytes: null, dlqMaxAgeMs: 86_400_000 },
    events,
    dlq,
    interval,
  );
  t.deepEqual(lifted.log, { maxAgeMs: undefined, maxBytes: undefined });
  t.is(lifted.dlqMaxAgeMs, 86_400_000);
});

test("resolveStreamLimits - the default window shrinks to the max age, an explicit longer one is refused", (t) => {
  const shrunk = resolveStreamLimits({ logMaxAgeMs: 10_000 }, undefined, undefined, interval);
  t.is(shrunk.dedupWindowMs, 10_000);
  t.is(shrunk.notes.length, 1);
  t.regex(shrunk.notes[0]!, /shrunk from 120000 ms/);
  const e = t.throws(() =>
    resolveStreamLimits({ logMaxAgeMs: 10_000, dedupWindowMs: 20_000 }, undefined, undefined, interval),
  );
  t.is((e as NodeError).code, "BAD_OPTION");
  t.is(
    code(() => resolveStreamLimits({ logMaxAgeMs: 4999 }, undefined, undefined, interval)),
    "BAD_OPTION",
  );
  t.is(
    code(() => resolveStreamLimits({ dlqMaxAgeMs: 10 }, undefined, undefined, interval)),
    "BAD_OPTION",
  );
});

test("limitFields - JetStream units: ns, -1 for no size limit, window never past the max age", (t) => {
  t.deepEqual(limitFields(undefined, undefined, 120_000), {
    max_age: 0,
    max_bytes: -1,
    duplicate_window: 120_000 * 1e6,
  });
  t.deepEqual(limitFields(30_000, 2 ** 20, 120_000), {
    max_age: 30_000 * 1e6,
    max_bytes: 2 ** 20,
    duplicate_window: 30_000 * 1e6,
  });
});
