import test, { type ExecutionContext } from "ava";
import type { NatsConnection } from "@nats-io/transport-node";
import { encodeName, shardOf, type ListReply, type TopReply } from "@tally/core";
import { tempDir, waitFor } from "@tally/testing";
import { FAST_NODE, spawnNode, tallyCluster, waitBalanced } from "./helpers/cluster.js";
import { within } from "./helpers/deadline.js";
import { NamespaceTruth, publishKnown, requestJson, type KnownEvent } from "./helpers/namespace-truth.js";
import { RECENT_MONDAY } from "./helpers/time.js";

const NS = "shop";
/** A short gather deadline, so a reply during a kill comes back partial well before failover. */
const GATHER = ["--gather-timeout", "400"];

function events(): KnownEvent[] {
  const out: KnownEvent[] = [];
  for (let i = 0; i < 60; i++) {
    const name = i % 3 === 0 ? `item.${i}` : `item-${i}`;
    for (let k = 0; k < 1 + ((i * 13) % 7); k++) out.push({ name, delta: 1 + (k % 2), ts: RECENT_MONDAY + i * 60_000 });
  }
  return out;
}

/**
 * One top (limit 1000) and one whole list of the namespace. Complete replies must equal the
 * truth; a partial one must name its missing shards and equal the truth of every other
 * shard exactly: short, but never silently. Returns whether both were complete.
 */
async function checkOnce(
  t: ExecutionContext,
  nc: NatsConnection,
  truth: NamespaceTruth,
  shards: number,
): Promise<boolean> {
  const onShard = (missing: number[] | undefined) => (name: string) =>
    !(missing ?? []).includes(shardOf(NS, encodeName(name), shards));
  const top = await requestJson<TopReply>(nc, `count.top.${NS}.all`, { limit: 1000, minSeq: truth.lastSeq });
  t.is(top.partial === true, (top.missingShards?.length ?? 0) > 0, "partial comes with the missing shards");
  t.deepEqual(top.items, truth.top("all", 0, 1000, onShard(top.missingShards)), `top (missing ${top.missingShards})`);
  const list = await requestJson<ListReply>(nc, `count.list.${NS}.day`, {
    at: RECENT_MONDAY,
    limit: 1000,
    minSeq: truth.lastSeq,
  });
  t.deepEqual(list.names, truth.list("day", RECENT_MONDAY, "", onShard(list.missingShards)), "list");
  t.is(list.next, undefined);
  return top.partial === undefined && list.partial === undefined;
}

/**
 * Checks until a reply is complete: on a loaded machine a shard can miss the short gather
 * deadline even when nothing moves; each reply on the way is still checked.
 */
async function completeSoon(
  t: ExecutionContext,
  nc: NatsConnection,
  truth: NamespaceTruth,
  shards: number,
  message: string,
): Promise<void> {
  await waitFor(() => checkOnce(t, nc, truth, shards), { timeoutMs: 30_000, message });
}

test.serial("namespace reads across nodes - exact on 2 nodes, while a third joins, and after", async (t) => {
  const { nc, url, shards } = await tallyCluster(t, { shards: 16 });
  const dirs = await Promise.all(["a", "b", "c"].map(() => tempDir("tally-ns-")));
  for (const d of dirs) t.teardown(() => d.remove());
  const spawn = (i: number) => spawnNode(t, url, dirs[i]!.path, ["--id", "abc"[i]!, ...FAST_NODE, ...GATHER]);
  const [a, b] = [spawn(0), spawn(1)];
  await Promise.all([a.ready, b.ready]);
  await waitBalanced(nc, ["a", "b"]);
  const truth = new NamespaceTruth(NS, ["all", "hour", "day", "week", "month"]);
  await publishKnown(nc, truth, events());
  await completeSoon(t, nc, truth, shards, "complete on two balanced nodes");

  const c = spawn(2);
  let checks = 0;
  let balanced = false;
  const joined = waitBalanced(nc, ["a", "b", "c"]).then(() => (balanced = true));
  joined.catch(() => undefined);
  // Every reply while shards move is exact, or flagged and exact for the shards that answered.
  while (!balanced) {
    await checkOnce(t, nc, truth, shards);
    checks++;
  }
  await within(joined, 60_000, "the third node to join");
  await c.ready;
  t.true(checks > 0, "checked while the node joined");
  await completeSoon(t, nc, truth, shards, "complete once balanced");
});

test.serial(
  "namespace reads across nodes - a killed node's shards are flagged missing, then exact after failover",
  async (t) => {
    const { nc, url, shards } = await tallyCluster(t, { shards: 16 });
    const dirs = await Promise.all(["a", "b", "c"].map(() => tempDir("tally-ns-")));
    for (const d of dirs) t.teardown(() => d.remove());
    const nodes = [0, 1, 2].map((i) => spawnNode(t, url, dirs[i]!.path, ["--id", "abc"[i]!, ...FAST_NODE, ...GATHER]));
    await Promise.all(nodes.map((n) => n.ready));
    const status = await waitBalanced(nc, ["a", "b", "c"]);
    const truth = new NamespaceTruth(NS, ["all", "hour", "day", "week", "month"]);
    await publishKnown(nc, truth, events());
    await completeSoon(t, nc, truth, shards, "complete on three balanced nodes");

    const lost = status.shards
      .filter((s) => s.owner === "b")
      .map((s) => s.shard)
      .sort((x, y) => x - y);
    nodes[1]!.proc.kill("SIGKILL");
    t.is(await within(nodes[1]!.exited, 10_000, "node b to die"), "SIGKILL");
    // Before the leases expire nobody owns b's shards: the reply names every one of them
    // (on a loaded machine another shard may miss the short deadline too, and is named).
    const top = await requestJson<TopReply>(nc, `count.top.${NS}.all`, { limit: 1000 });
    t.true(top.partial);
    t.deepEqual(
      lost.filter((s) => !top.missingShards?.includes(s)),
      [],
      `every shard of the killed node is missing: ${top.missingShards}`,
    );
    t.deepEqual(
      top.items,
      truth.top("all", 0, 1000, (n) => !top.missingShards!.includes(shardOf(NS, encodeName(n), shards))),
    );
    t.true(top.items.length < truth.top("all", 0, 1000).length, "the reply is short, and says so");
    await checkOnce(t, nc, truth, shards);

    await waitBalanced(nc, ["a", "c"]);
    await completeSoon(t, nc, truth, shards, "complete after failover");
  },
);
