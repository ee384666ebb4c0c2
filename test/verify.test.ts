import test, { type ExecutionContext } from "ava";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  DEFAULT_PERIODS,
  DEFAULT_RETENTION,
  bucketIndex,
  bucketIso,
  bucketKey,
  firstRetainedIndex,
  shardOf,
} from "@tally/core";
import { EVENTS_STREAM, type VerifyReport } from "@tally/node";
import { tempDir, waitFor } from "@tally/testing";
import { SnapshotStore } from "../packages/node/src/storage/snapshot-store.js";
import { inProcessNode, tallyCli, tallyServer } from "./helpers/cluster.js";
import { startLoad } from "./helpers/load.js";
import { Truth } from "./helpers/truth.js";

/** Runs `tally verify …`; resolves with its exit code and output whatever the code. */
async function verify(url: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await tallyCli(["--nats", url, "verify", "--no-progress", ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== "number") throw err; // killed or not started: not an exit code
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

async function verifyJson(url: string, args: string[] = []): Promise<{ code: number; report: VerifyReport }> {
  const r = await verify(url, ["--json", ...args]);
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as VerifyReport };
  } catch {
    throw new Error(`tally verify --json printed no report (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

/**
 * Publishes on `subject` and adds the event to `truth` when a node counts it (`counted`:
 * `ns`, `name`, delta and ts; `ts` undefined means the time JetStream stored it, which
 * the test reads back from the stream).
 */
async function publish(
  nc: NatsConnection,
  truth: Truth,
  subject: string,
  body: string,
  counted?: { ns: string; name: string; delta: number; ts?: string },
): Promise<number> {
  const ack = await jetstream(nc).publish(subject, body);
  if (counted) {
    const stored = await (await jetstreamManager(nc)).streams.getMessage(EVENTS_STREAM, { seq: ack.seq });
    const ts = counted.ts !== undefined ? Date.parse(counted.ts) : stored!.time.getTime();
    truth.add(counted.ns, counted.name, counted.delta, ts, DEFAULT_PERIODS, ack.seq);
  }
  return ack.seq;
}

/** The buckets the test published into that the nodes still keep (the default retention drops old hours). */
const bucketsOf = (truth: Truth, ns?: string) =>
  [...truth.buckets()].filter(
    (b) =>
      (ns === undefined || b.ns === ns) &&
      bucketIndex(b.period, Date.parse(b.bucket)) >=
        firstRetainedIndex(b.period, DEFAULT_RETENTION[b.period], Date.now()),
  );

/** A known mix of events in namespaces `web` and `app`, some refused by the nodes. */
async function publishKnownEvents(t: ExecutionContext, nc: NatsConnection, shards: number) {
  const truth = new Truth();
  const web = (name: string, delta: number, ts?: string) => ({ ns: "web", name, delta, ...(ts ? { ts } : {}) });
  for (let i = 0; i < 5; i++) await publish(nc, truth, "count.web.home", "", web("home", 1));
  await publish(
    nc,
    truth,
    "count.web.home",
    '{"delta":3,"ts":"2026-11-20T10:00:00Z"}',
    web("home", 3, "2026-11-20T10:00:00Z"),
  );
  await publish(nc, truth, "count.web.home", "-2", web("home", -2));
  const old = "2025-03-01T00:00:00.000Z";
  await publish(nc, truth, "count.web.example%2Ecom", `{"delta":4,"ts":"${old}"}`, web("example%2Ecom", 4, old));
  // A token the client's encodeName would never make: verify must read it as stored.
  await publish(nc, truth, "count.web.%41", "7", web("%41", 7));
  await publish(nc, truth, "count.app.signup", '{"delta":2,"ts":"2026-11-29T23:59:59.999Z"}', {
    ns: "app",
    name: "signup",
    delta: 2,
    ts: "2026-11-29T23:59:59.999Z",
  });
  for (let i = 0; i < 3; i++) await publish(nc, truth, "count.app.signup", "", { ns: "app", name: "signup", delta: 1 });
  // Refused by the nodes, so by verify too: bad bodies, a reserved namespace, a wrong shard.
  await publish(nc, truth, "count.web.home", "five");
  await publish(nc, truth, "count.web.home", '{"delta":1.5}');
  await publish(nc, truth, "count.web.broken", "x");
  await publish(nc, truth, "count.app.signup", "oops");
  await publish(nc, truth, "count._probe.x", "");
  const wrong = (shardOf("web", "home", shards) + 1) % shards;
  await publish(nc, truth, `tally.ev.${wrong}.web.home`, "");
  t.is(truth.counters.size, 4);
  return { truth, published: 7 + 1 + 1 + 4 + 6, refused: 6, appPublished: 5 };
}

test("verify - a healthy cluster: no difference, exit 0; --json counts the counters and buckets checked; verify <ns> checks only that namespace", async (t) => {
  const { server, nc, shards } = await tallyServer(t, { shards: 8 });
  await inProcessNode(t, server.url);
  const { truth, published, refused, appPublished } = await publishKnownEvents(t, nc, shards);

  const { code, report } = await verifyJson(server.url);
  t.is(code, 0);
  t.deepEqual(report.differences, []);
  t.deepEqual(report.failures, []);
  t.true(report.log.complete);
  t.is(report.log.endSeq, published);
  t.deepEqual(report.events, { ...report.events, read: published, counted: published - refused, skipped: refused });
  t.is(report.checked.counters, truth.counters.size);
  t.is(report.checked.buckets, bucketsOf(truth).length);
  t.is(report.checked.allTime, truth.counters.size);

  const app = await verifyJson(server.url, ["app"]);
  t.is(app.code, 0);
  t.is(app.report.ns, "app");
  t.is(app.report.events.read, appPublished);
  t.is(app.report.events.skipped, 1);
  t.is(app.report.checked.counters, 1);
  t.is(app.report.checked.buckets, bucketsOf(truth, "app").length);
  t.is(app.report.checked.allTime, 1);

  const human = await verify(server.url);
  t.is(human.code, 0);
  t.regex(human.stdout, /checked 4 counters/);
  t.regex(human.stdout, /^no differences$/m);

  const bad = await verify(server.url, ["a*b"]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^tally: BAD_SUBJECT: /m);
});

test("verify - a bucket changed in a node's snapshot is reported with expected and served values, exit 1", async (t) => {
  const { server, nc, shards } = await tallyServer(t, { shards: 4 });
  const dir = await tempDir("tally-verify-");
  t.teardown(() => dir.remove());
  // No periodic checkpoint: the clean stop writes the last one, at the local snapshot's sequence.
  const opts = { dataDir: dir.path, checkpointIntervalMs: 3_600_000 };
  const first = await inProcessNode(t, server.url, opts);
  const truth = new Truth();
  const day = "2026-11-25T08:00:00.000Z";
  for (let k = 0; k < 6; k++) {
    for (let i = 0; i <= k; i++) {
      const ts = i % 2 ? day : "2026-11-26T20:00:00.000Z";
      await publish(nc, truth, `count.web.k${k}`, `{"delta":${i + 1},"ts":"${ts}"}`, {
        ns: "web",
        name: `k${k}`,
        delta: i + 1,
        ts,
      });
    }
  }
  t.is((await verify(server.url)).code, 0, "consistent before the edit");
  await first.close();

  const shard = shardOf("web", "k3", shards);
  const key = bucketKey("day", bucketIndex("day", Date.parse(day)));
  const expected = truth.value("web", "k3", "day", bucketIso("day", bucketIndex("day", Date.parse(day))));
  t.true(expected > 0);
  const store = await SnapshotStore.open(dir.path);
  try {
    let stored: number | undefined;
    await store.loadShard(shard, (ns, name, k, value) => {
      if (ns === "web" && name === "k3" && k === key) stored = value;
    });
    t.is(stored, expected, "the snapshot holds the bucket");
    await store.putEntry(shard, "web", "k3", key, expected + 5);
  } finally {
    await store.close();
  }

  const second = await inProcessNode(t, server.url, opts);
  await waitFor(() => second.stats().find((s) => s.shard === shard)?.ready === true, {
    timeoutMs: 30_000,
    message: `shard ${shard} served again`,
  });
  t.is(second.stats().find((s) => s.shard === shard)?.source, "local", "restored from the edited snapshot");

  const { code, report } = await verifyJson(server.url);
  t.is(code, 1);
  t.deepEqual(report.differences, [
    { ns: "web", name: "k3", period: "day", bucket: "2026-11-25T00:00:00.000Z", expected, served: expected + 5 },
  ]);
  t.is(report.checked.counters, 6);
  t.is(report.checked.buckets, bucketsOf(truth).length);

  const human = await verify(server.url);
  t.is(human.code, 1);
  t.regex(human.stdout, /^1 difference:$/m);
  t.regex(human.stdout, new RegExp(`^web +k3 +day +2026-11-25T00:00:00.000Z +${expected} +${expected + 5}$`, "m"));
  t.is((await verify(server.url, ["other"])).code, 0, "another namespace has no difference");
});

test("verify - a truncated log: only buckets starting after its first event are checked, all-time values not", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 4 });
  await inProcessNode(t, server.url);
  const early = new Truth();
  for (let k = 0; k < 4; k++)
    await publish(nc, early, `count.web.k${k}`, '{"delta":5,"ts":"2026-01-10T00:00:00Z"}', {
      ns: "web",
      name: `k${k}`,
      delta: 5,
      ts: "2026-01-10T00:00:00Z",
    });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.purge(EVENTS_STREAM, { seq: 3 }); // the log now starts at sequence 3
  const late = new Truth();
  const future = new Date(Date.now() + 3 * 86_400_000).toISOString();
  for (let k = 0; k < 4; k++)
    await publish(nc, late, `count.web.k${k}`, `{"delta":${k + 1},"ts":"${future}"}`, {
      ns: "web",
      name: `k${k}`,
      delta: k + 1,
      ts: future,
    });
  const first = (await jsm.streams.getMessage(EVENTS_STREAM, { seq: 3 }))!.time.getTime();
  // Events the log dropped were stored at or before its first event, so only buckets
  // starting after it can be recounted; the early events' buckets (January) are older.
  const checkable = [...early.buckets(), ...late.buckets()].filter((b) => Date.parse(b.bucket) > first);
  t.true(checkable.length >= 8, "the future hour and day of each counter at least");

  const { code, report } = await verifyJson(server.url);
  t.is(code, 0, JSON.stringify(report.differences));
  t.false(report.log.complete);
  t.is(report.log.firstSeq, 3);
  t.is(report.log.checkedAfter, new Date(first).toISOString());
  t.is(report.checked.allTime, 0);
  t.is(report.checked.counters, 4);
  t.is(report.checked.buckets, checkable.length);
});

test("verify - runs against a cluster that keeps counting: values ahead by later events are no difference", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 8 });
  await inProcessNode(t, server.url);
  const load = startLoad(t, nc, { ns: "live", counters: 24, concurrency: 4 });
  await waitFor(() => load.acked > 300, { timeoutMs: 30_000, message: "publishing" });
  const { code, report } = await verifyJson(server.url);
  const during = load.acked;
  await load.stop();
  t.true(during > report.log.endSeq, "events were published while it ran");
  t.is(code, 0, JSON.stringify(report.differences.slice(0, 5)));
  t.deepEqual(report.differences, []);
  t.is(report.checked.counters, 24);
  t.true(report.checked.allTime === 24 && report.log.complete);
});

test("verify - a cluster that was never initialised is an error: exit 2 with the code", async (t) => {
  const { server } = await tallyServer(t, { init: false });
  const r = await verify(server.url);
  t.is(r.code, 2);
  t.regex(r.stderr, /^tally: NOT_INITIALIZED: /m);
});
