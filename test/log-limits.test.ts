import test from "ava";
import { jetstreamManager } from "@nats-io/jetstream";
import { DEFAULT_RETENTION } from "@tally/core";
import {
  CONFIG_BUCKET,
  CLUSTER_KEY,
  DLQ_STREAM,
  EVENTS_STREAM,
  LOG_MAX_BYTES_FLOOR,
  initCluster,
  readClusterConfig,
  startNode,
  type NodeError,
} from "@tally/node";
import { Kvm } from "@nats-io/kv";
import { tempDir, waitFor } from "@tally/testing";
import { inProcessNode, tallyCli, tallyServer } from "./helpers/cluster.js";

const S = 1000;
const H = 3_600_000;
const D = 86_400_000;
const NS = 1_000_000;

test("log limits - init sets retention, limits and the checkpoint interval, and re-running changes them", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 4, init: false });
  const jsm = await jetstreamManager(nc);
  const first = await initCluster(nc, {
    shards: 4,
    retention: "minute=1h,day=400d",
    logMaxAgeMs: 60 * S,
    logMaxBytes: 4 * LOG_MAX_BYTES_FLOOR,
    checkpointIntervalMs: 1000,
    dlqMaxAgeMs: 7 * D,
  });
  t.deepEqual(first.config.retention, { minute: H, hour: 90 * D, day: 400 * D });
  t.is(first.config.maxCheckpointIntervalMs, 1000);
  t.deepEqual(await readClusterConfig(nc), first.config);
  let events = await jsm.streams.info(EVENTS_STREAM);
  t.is(events.config.max_age, 60 * S * NS);
  t.is(events.config.max_bytes, 4 * LOG_MAX_BYTES_FLOOR);
  t.is(events.config.duplicate_window, 60 * S * NS, "the 2-minute default window shrinks to the max age");
  t.is(events.config.discard, "old", "a full log drops its oldest events, never a new publish");
  t.regex(first.notes.join("\n"), /de-duplication window shrunk/);
  t.is((await jsm.streams.info(DLQ_STREAM)).config.max_age, 7 * D * NS);

  // Re-running with nothing changes nothing.
  const same = await initCluster(nc, {});
  t.deepEqual(same.changed, []);
  t.deepEqual(same.config, first.config);

  // Re-running changes retention (over the current one) and the limits, in place.
  const again = await initCluster(nc, {
    retention: "day=forever,hour=30d",
    logMaxAgeMs: null,
    logMaxBytes: 8 * 2 ** 20,
  });
  t.deepEqual(again.config.retention, { minute: H, hour: 30 * D });
  events = await jsm.streams.info(EVENTS_STREAM);
  t.is(events.config.max_age, 0);
  t.is(events.config.max_bytes, 8 * 2 ** 20);
  t.is(events.config.duplicate_window, 60 * S * NS, "the window in place is kept");
  t.true(again.changed.some((c) => c.startsWith(`stream ${EVENTS_STREAM}`)));
  t.true(again.changed.some((c) => c.startsWith(`kv ${CONFIG_BUCKET}`)));

  // The CLI does the same, and prints what it set.
  const { stdout } = await tallyCli([
    "--nats",
    server.url,
    "init",
    "--log-max-bytes",
    "unlimited",
    "--log-max-age",
    "1h",
    "--dlq-max-age",
    "forever",
  ]);
  t.regex(stdout, /event log: max age 1h, max bytes unlimited/);
  t.regex(stdout, /dead letters: kept forever/);
  t.regex(stdout, /retention: minute=1h,hour=30d/);
  events = await jsm.streams.info(EVENTS_STREAM);
  t.is(events.config.max_age, H * NS);
  t.is(events.config.max_bytes, -1);
  t.is((await jsm.streams.info(DLQ_STREAM)).config.max_age, 0);
});

test("log limits - limits that could drop events before a checkpoint holds them are refused, with the fix", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 4 });
  const jsm = await jetstreamManager(nc);
  const before = (await jsm.streams.info(EVENTS_STREAM)).config;
  // Ten node-default (5000 ms) checkpoint intervals is 50 s.
  const age = await t.throwsAsync(initCluster(nc, { logMaxAgeMs: 49 * S }));
  t.is((age as NodeError).code, "BAD_OPTION");
  t.regex((age as Error).message, /under 10 checkpoint intervals.*--log-max-age 50s or more/);
  const bytes = await t.throwsAsync(initCluster(nc, { logMaxBytes: LOG_MAX_BYTES_FLOOR - 1 }));
  t.is((bytes as NodeError).code, "BAD_OPTION");
  const window = await t.throwsAsync(initCluster(nc, { logMaxAgeMs: 60 * S, dedupWindowMs: 61 * S }));
  t.is((window as NodeError).code, "BAD_OPTION");
  t.regex((window as Error).message, /--dedup-window 61000 ms is longer than --log-max-age 1m/);
  t.deepEqual((await jsm.streams.info(EVENTS_STREAM)).config, before, "nothing was changed");
  // A shorter stated interval allows a shorter log.
  await initCluster(nc, { logMaxAgeMs: 10 * S, checkpointIntervalMs: 1000 });
  // …but not shorter than ten of them, from the CLI either; and not while a live node checkpoints more slowly.
  const cli = await t.throwsAsync(tallyCli(["--nats", server.url, "init", "--log-max-age", "9s"]));
  t.regex((cli as unknown as { stderr: string }).stderr, /BAD_OPTION: --log-max-age 9s is under 10 checkpoint/);
  await inProcessNode(t, server.url, { id: "slow", checkpointIntervalMs: 1000 });
  const live = await t.throwsAsync(initCluster(nc, { logMaxAgeMs: 5 * S, checkpointIntervalMs: 500 }));
  t.is((live as NodeError).code, "BAD_OPTION");
  t.regex((live as Error).message, /checkpoint interval of live node slow/);
});

test("log limits - a node whose checkpoint interval is over a tenth of the log's max age refuses to start", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 4 });
  await initCluster(nc, { logMaxAgeMs: 10 * S, checkpointIntervalMs: 1000 });
  const dir = await tempDir();
  t.teardown(() => dir.remove());
  const err = await t.throwsAsync(
    startNode({
      connection: { servers: server.url },
      dataDir: dir.path,
      checkpointIntervalMs: 1001,
      logLevel: "silent",
    }),
  );
  t.is((err as NodeError).code, "BAD_OPTION");
  t.regex((err as Error).message, /Start it with --checkpoint-interval 1000 or less/);
  // The data dir was released: a node with a fitting interval starts on it.
  await inProcessNode(t, server.url, { dataDir: dir.path, checkpointIntervalMs: 1000 });
});

test("log limits - running nodes follow a retention change without a restart; an old config reads as the defaults", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 4 });
  // A config record written before retention existed.
  const kv = await new Kvm(nc).open(CONFIG_BUCKET);
  const old = (await kv.get(CLUSTER_KEY))!.json<Record<string, unknown>>();
  delete old.retention;
  delete old.maxCheckpointIntervalMs;
  await kv.put(CLUSTER_KEY, JSON.stringify(old));
  t.deepEqual((await readClusterConfig(nc)).retention, DEFAULT_RETENTION);
  t.is((await readClusterConfig(nc)).maxCheckpointIntervalMs, 5000);
  const node = await inProcessNode(t, server.url);
  t.deepEqual(node.config.retention, DEFAULT_RETENTION);
  await initCluster(nc, { retention: "minute=2h,month=800d" });
  await waitFor(() => node.config.retention.minute === 2 * H && node.config.retention.month === 800 * D, {
    timeoutMs: 10_000,
    message: "the node to see the new retention",
  });
  t.deepEqual(node.config.retention, { minute: 2 * H, hour: 90 * D, month: 800 * D });
});
