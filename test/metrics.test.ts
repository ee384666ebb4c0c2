import test from "ava";
import { jetstream } from "@nats-io/jetstream";
import { shardOf } from "@tally/core";
import { tallyClient } from "@tally/client";
import { tempDir, waitFor } from "@tally/testing";
import { FAST_NODE, inProcessNode, spawnNode, tallyCluster, tallyServer, waitBalanced } from "./helpers/cluster.js";
import { SnapshotStore } from "../packages/node/src/storage/snapshot-store.js";
import { within } from "./helpers/deadline.js";
import { scrapeMetrics, type PromScrape } from "./helpers/prom-text.js";

const enc = new TextEncoder();
const u8 = (s: string) => enc.encode(s);

/** Namespaces n00 … n24: 25 of them, n<i> with i + 1 events, so the top 20 are n05 … n24. */
const NAMESPACES = Array.from({ length: 25 }, (_, i) => `n${String(i).padStart(2, "0")}`);
const TOP = 20;

/** Every `ns` label of a metric with its value. */
function byNamespace(m: PromScrape, name: string): Map<string, number> {
  return new Map(m.find(name).map((s) => [s.labels.ns!, s.value]));
}

const sum = (m: PromScrape, name: string, labels: Record<string, string> = {}) =>
  m.find(name, labels).reduce((a, s) => a + s.value, 0);

test("metrics - events applied and dead-lettered per namespace (top 20, the rest as _other), read latency by kind, shard gauges: exact", async (t) => {
  const { server, nc, shards } = await tallyServer(t, { shards: 16 });
  const node = await inProcessNode(t, server.url, { httpPort: 0 });
  const port = node.httpPort!;
  const js = jetstream(nc);
  // Ground truth: what this test publishes and gets acked.
  const applied = new Map<string, number>();
  const acks: Promise<{ seq: number }>[] = [];
  NAMESPACES.forEach((ns, i) => {
    for (let e = 0; e < i + 1; e++) acks.push(js.publish(`count.${ns}.c${e % 4}`, u8("")));
    applied.set(ns, i + 1);
  });
  // Dead letters: a bad body in n24, a key on the wrong shard in n03, a reserved namespace.
  const deadLettered = new Map([
    ["n24", 1],
    ["n03", 1],
    ["_invalid", 1],
  ]);
  acks.push(js.publish("count.n24.c0", u8("hello")));
  acks.push(js.publish(`tally.ev.${(shardOf("n03", "c0", shards) + 1) % shards}.n03.c0`, u8("1")));
  acks.push(js.publish("count._x.web", u8("1")));
  const minSeq = Math.max(...(await Promise.all(acks)).map((a) => a.seq));

  // Reads of every kind, counted: one get per namespace, series, top, list.
  const client = tallyClient(nc);
  const reads = { get: 0, series: 0, top: 0, list: 0 };
  for (const ns of NAMESPACES) {
    const got = await client.get(ns, "c0", { minSeq });
    reads.get++;
    t.is(got.value, Math.ceil(applied.get(ns)! / 4), `${ns} c0`);
  }
  const now = Date.now();
  for (const ns of ["n00", "n10", "n20"]) {
    await client.series(ns, "c1", { period: "hour", from: now - 3 * 3_600_000, to: now, minSeq });
    reads.series++;
  }
  t.is((await client.top("n24", "all", { minSeq })).items.length, 4);
  reads.top++;
  await client.top("n01", "day", { minSeq });
  reads.top++;
  t.deepEqual((await client.listPage("n24", "all", { minSeq })).names, ["c0", "c1", "c2", "c3"]);
  reads.list++;
  await client.listPage("n02", "all", { minSeq });
  reads.list++;
  // The dead letters are recorded before the shard goes on, so they are in by now.
  await node.snapshot();

  // One scrape: the first hands every namespace's events to its label.
  const m = await scrapeMetrics(port);
  const appliedByNs = byNamespace(m, "tally_events_applied_total");
  const top = NAMESPACES.slice(-TOP);
  const other = NAMESPACES.slice(0, -TOP).reduce((a, ns) => a + applied.get(ns)!, 0);
  t.deepEqual(
    Object.fromEntries(appliedByNs),
    Object.fromEntries([...top.map((ns) => [ns, applied.get(ns)!]), ["_other", other]]),
  );
  t.is(other, 1 + 2 + 3 + 4 + 5);
  t.is(sum(m, "tally_events_applied_total"), sum(m, "tally_shard_events_applied"), "per namespace = per shard");
  t.deepEqual(
    Object.fromEntries(byNamespace(m, "tally_events_dead_lettered_total")),
    Object.fromEntries([...deadLettered, ["_other", 0]]),
  );
  t.is(m.types.get("tally_events_applied_total"), "counter");
  for (const [kind, n] of Object.entries(reads))
    t.is(m.value("tally_read_seconds_count", { kind }), n, `${kind} reads`);
  t.is(m.find("tally_read_seconds_count").length, 4, "no other kind of read");
  // Per-shard gauges: every shard owned, ready and caught up (lag 0).
  t.is(m.find("tally_shard_owned", { shard: "0" })[0]?.value, 1);
  t.is(sum(m, "tally_shard_owned"), shards);
  t.is(sum(m, "tally_shard_ready"), shards);
  t.is(m.find("tally_shard_lag_events").length, shards);
  // Lag is what JetStream reported with the last event a shard took: a shard may still be
  // taking its last batch when the counts above are read, so wait for it to reach 0 (a lag
  // that stays up fails here).
  await waitFor(async () => sum(await scrapeMetrics(port), "tally_shard_lag_events") === 0, {
    timeoutMs: 15_000,
    message: "every shard's lag to reach 0",
  });
  t.is(m.value("tally_shard_moves_total", { direction: "in" }), shards);
  t.is(m.value("tally_shard_failovers_total"), 0);
  t.true(m.value("tally_snapshot_bytes_written_total")! > 0);
  t.true(m.value("tally_snapshot_seconds_count")! > 0);

  // n00 overtakes n05: it gets a label of its own from 0 (its first event stays under
  // _other), n05 drops out, and _other keeps what it had: every series only grows.
  const more = await Promise.all(Array.from({ length: 30 }, () => js.publish("count.n00.c0", u8(""))));
  await client.get("n00", "c0", { minSeq: Math.max(...more.map((a) => a.seq)) });
  const m2 = await scrapeMetrics(port);
  const after = byNamespace(m2, "tally_events_applied_total");
  t.is(after.get("n00"), 30);
  t.false(after.has("n05"));
  t.is(after.get("_other"), other);
  t.is(after.size, TOP + 1);
  t.is(m2.value("tally_read_seconds_count", { kind: "get" }), reads.get + 1);
});

test("metrics - snapshot bytes written equal the bytes LevelDB holds after one snapshot into an empty store", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 4 });
  const dir = await tempDir("tally-metrics-");
  t.teardown(() => dir.remove());
  // No snapshot but the one asked for (and no idle probe moving a sequence): each key is written once.
  const node = await inProcessNode(t, server.url, {
    dataDir: dir.path,
    httpPort: 0,
    snapshotIntervalMs: 600_000,
    snapshotEvents: 1_000_000,
    checkpointIntervalMs: 600_000,
  });
  const js = jetstream(nc);
  const acks = await Promise.all(
    Array.from({ length: 40 }, (_, i) => js.publish(`count.${i % 2 ? "wéb" : "app"}.n${i % 7}`, u8(String(i)))),
  );
  await tallyClient(nc).get("app", "n0", { minSeq: Math.max(...acks.map((a) => a.seq)) });
  await node.snapshot();
  const written = (await scrapeMetrics(node.httpPort!)).value("tally_snapshot_bytes_written_total");
  await node.close();
  const store = await SnapshotStore.open(dir.path);
  t.teardown(() => store.close());
  const stored = await store.storedBytes();
  t.true(stored > 0);
  t.is(written, stored);
});

test("metrics - /healthz answers 200 while alive; /readyz 503 with no shards, 200 once serving and caught up", async (t) => {
  const { server } = await tallyServer(t, { shards: 8 });
  // A new cluster of at least two: alone, the node takes no shards.
  const opts = { minMembers: 2, heartbeatMs: 200, memberTimeoutMs: 1500 };
  const a = await inProcessNode(t, server.url, { ...opts, id: "a", httpPort: 0 });
  const url = (path: string) => `http://127.0.0.1:${a.httpPort}${path}`;
  const health = await fetch(url("/healthz"));
  t.is(health.status, 200);
  t.like(await health.json(), { status: "running" });
  const notReady = await fetch(url("/readyz"));
  t.is(notReady.status, 503);
  t.like(await notReady.json(), { shards: 0, reason: "serves no shards" });
  await inProcessNode(t, server.url, { ...opts, id: "b" });
  const ready = await waitFor(
    async () => {
      const r = await fetch(url("/readyz"));
      return r.status === 200 ? ((await r.json()) as { shards: number }) : undefined;
    },
    { timeoutMs: 30_000, message: "a ready" },
  );
  t.true(ready.shards >= 1 && ready.shards <= 7, `a serves ${ready.shards} of 8`);
  const m = await scrapeMetrics(a.httpPort!);
  t.is(sum(m, "tally_shard_owned"), ready.shards);
  t.is(sum(m, "tally_shard_ready"), ready.shards);
});

test.serial(
  "metrics - hand-offs and failovers: a node counts shards handed to it apart from those taken from a dead one",
  async (t) => {
    const { nc, url } = await tallyCluster(t, { shards: 16 });
    const a = await inProcessNode(t, url, { id: "a", httpPort: 0, heartbeatMs: 200, memberTimeoutMs: 1500 });
    await waitBalanced(nc, ["a"]);
    const dir = await tempDir("tally-metrics-");
    t.teardown(() => dir.remove());
    const b = spawnNode(t, url, dir.path, ["--id", "b", ...FAST_NODE]);
    await b.ready;
    const status = await waitBalanced(nc, ["a", "b"]);
    const lost = status.shards.filter((s) => s.owner === "b").length;
    t.true(lost > 0);
    const before = await scrapeMetrics(a.httpPort!);
    t.is(before.value("tally_shard_moves_total", { direction: "in" }), 16);
    t.is(before.value("tally_shard_moves_total", { direction: "out" }), lost, "handed off to b");
    t.is(before.value("tally_shard_failovers_total"), 0);

    b.proc.kill("SIGKILL");
    await within(b.exited, 10_000, "node b to die of SIGKILL");
    await waitBalanced(nc, ["a"]);
    const m = await waitFor(
      async () => {
        const s = await scrapeMetrics(a.httpPort!);
        return s.value("tally_shard_moves_total", { direction: "in" }) === 16 + lost ? s : undefined;
      },
      { timeoutMs: 30_000, message: "a to take b's shards" },
    );
    t.is(m.value("tally_shard_failovers_total"), lost, "every shard taken from the dead node is a failover");
    t.is(sum(m, "tally_shard_owned"), 16);
    t.is(m.value("tally_leases_lost_total"), 0);
  },
);
