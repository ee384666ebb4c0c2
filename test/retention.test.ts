import test from "ava";
import { Objm } from "@nats-io/obj";
import {
  ALL_KEY,
  DEFAULT_RETENTION,
  bucketIndex,
  bucketIso,
  splitBucketKey,
  type BucketPeriod,
  type Period,
} from "@tally/core";
import { CHECKPOINTS_BUCKET } from "@tally/node";
import { ClientError, tallyClient } from "@tally/client";
import { tempDir, waitFor } from "@tally/testing";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { SnapshotStore } from "../packages/node/src/storage/snapshot-store.js";
import { Checkpoints } from "../packages/node/src/storage/checkpoints.js";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";
import { Truth } from "./helpers/truth.js";
import { DAY, RECENT_MONDAY } from "./helpers/time.js";

const HOUR = 3_600_000;
const PERIODS: Period[] = ["all", "hour", "day"];
const iso = (p: BucketPeriod, ts: number) => bucketIso(p, bucketIndex(p, ts));

test("retention - expired buckets leave memory, LevelDB and the shared checkpoint; reads say BUCKET_EXPIRED, series are clipped", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 4, periods: PERIODS });
  const dir = await tempDir("tally-retention-");
  t.teardown(() => dir.remove());
  let offset = 0; // the node's clock runs `offset` ahead of the real one
  const node = await inProcessNode(t, server.url, {
    dataDir: dir.path,
    clock: () => Date.now() + offset,
    sweepIntervalMs: 200,
    snapshotIntervalMs: 200,
    checkpointIntervalMs: 300,
  });
  const client = tallyClient(nc);
  const truth = new Truth();
  let last = 0;
  for (let i = 0; i < 120; i++) {
    const ts = RECENT_MONDAY + (i % 30) * HOUR;
    const name = `c${i % 6}`;
    last = (await client.inc("ret", name, { delta: 1 + (i % 3), ts })).seq;
    truth.add("ret", name, 1 + (i % 3), ts, PERIODS, last);
  }
  const hourBucket = RECENT_MONDAY + 5 * HOUR;
  t.is(
    (await client.get("ret", "c5", { period: "hour", at: hourBucket, minSeq: last })).value,
    truth.value("ret", "c5", "hour", iso("hour", hourBucket)),
  );
  const entries = () => node.stats().reduce((n, s) => n + s.entries, 0);
  const all = [...truth.buckets()];
  t.is(entries(), all.length + truth.counters.size, "all-time + every hour and day bucket");

  // Move the node's clock past the hour retention (90 days after the buckets ended).
  offset = DEFAULT_RETENTION.hour! + 20 * DAY;
  const hourBuckets = all.filter((b) => b.period === "hour").length;
  await waitFor(() => entries() === all.length - hourBuckets + truth.counters.size, {
    timeoutMs: 20_000,
    message: "the sweep to drop every hour bucket from memory",
  });

  const err = await t.throwsAsync(client.get("ret", "c5", { period: "hour", at: hourBucket }), {
    instanceOf: ClientError,
  });
  t.is(err.code, "BUCKET_EXPIRED");
  t.regex(err.message, /kept for 90d/);
  t.false(err.retryable);
  // Day buckets are kept forever, and all-time always.
  t.is(
    (await client.get("ret", "c5", { period: "day", at: hourBucket })).value,
    truth.value("ret", "c5", "day", iso("day", hourBucket)),
  );
  t.is((await client.get("ret", "c5")).value, truth.value("ret", "c5", "all"));

  // A series reaching before retention holds the retained part only, and says where it starts.
  const now = Date.now() + offset;
  const series = await client.series("ret", "c5", { period: "hour", from: now - 100 * DAY, to: now - 88 * DAY });
  const kept = bucketIndex("hour", now - DEFAULT_RETENTION.hour!);
  t.is(series.retainedFrom, new Date(kept * HOUR).toISOString());
  t.is(series.points[0]!.bucket, series.retainedFrom ?? "absent");
  t.is(series.points.length, bucketIndex("hour", now - 88 * DAY) - kept + 1);

  // An event older than the hour retention counts in all-time and day, not in hour; it is no error.
  const old = RECENT_MONDAY + 2 * HOUR;
  last = (await client.inc("ret", "late", { delta: 7, ts: old })).seq;
  t.is((await client.get("ret", "late", { minSeq: last })).value, 7);
  t.is((await client.get("ret", "late", { period: "day", at: old })).value, 7);
  await t.throwsAsync(client.get("ret", "late", { period: "hour", at: old }), { message: /has expired/ });

  // The shared checkpoints no longer hold an hour bucket (written after the sweep).
  const hourKeysIn = (keys: number[]) => keys.filter((k) => k !== ALL_KEY && splitBucketKey(k).period === "hour");
  const os = await new Objm(nc).open(CHECKPOINTS_BUCKET);
  t.true((await os.list()).length > 0, "checkpoints were written");
  await node.checkpoint();
  const stored = await storedCheckpointKeys(nc);
  t.true(stored.length > 0);
  t.deepEqual(hourKeysIn(stored), []);

  await node.close();
  const store = await SnapshotStore.open(dir.path);
  t.teardown(() => store.close());
  const local: number[] = [];
  for (let shard = 0; shard < 4; shard++) await store.loadShard(shard, (_ns, _name, key) => local.push(key));
  t.is(
    local.length,
    all.length - hourBuckets + truth.counters.size + 2,
    "every retained entry, and the late event's two",
  );
  t.deepEqual(hourKeysIn(local), [], "the local snapshot holds no hour bucket");
});

/** Bucket keys of every entry in the shared checkpoints of shards 0-3. */
async function storedCheckpointKeys(nc: NatsConnection): Promise<number[]> {
  const checkpoints = await Checkpoints.open(nc, pino({ level: "silent" }));
  const keys: number[] = [];
  for (let shard = 0; shard < 4; shard++) {
    const cp = await checkpoints.read(shard);
    for (const e of cp?.entries ?? []) keys.push(e.key);
  }
  return keys;
}
