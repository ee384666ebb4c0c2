import test from "ava";
import { tallyClient, ClientError } from "@tally/client";
import { tempDir, waitFor } from "@tally/testing";
import { FAST_NODE, spawnNode, tallyCluster, waitBalanced } from "./helpers/cluster.js";
import { backgroundLoop } from "./helpers/background.js";
import { startLoad, assertExact } from "./helpers/load.js";

test("cluster - nodes join during a stream of acked publishes: each join moves ⌈P/(N+1)⌉ shards at most, reads never fail, counts exact", async (t) => {
  const { nc, url, shards } = await tallyCluster(t, { shards: 16 });
  const dirs = await Promise.all(["a", "b", "c"].map(() => tempDir("tally-join-")));
  for (const d of dirs) t.teardown(() => d.remove());
  const node = (id: string, i: number) => spawnNode(t, url, dirs[i]!.path, ["--id", id, ...FAST_NODE]);

  const a = node("a", 0);
  await a.ready;
  await waitBalanced(nc, ["a"]);
  const load = startLoad(t, nc);
  // A reader hammers every counter through the join; the client may retry, but no read may fail.
  const client = tallyClient(nc, { retryDeadlineMs: 20_000 });
  let reads = 0;
  const failures: string[] = [];
  const reader = backgroundLoop(t, { name: "reader", nc }, async () => {
    const name = `k${reads % 48}`;
    try {
      await client.get("load", name);
    } catch (err) {
      failures.push(`${name}: ${err instanceof ClientError ? err.code : ""} ${(err as Error).message}`);
    }
    reads++;
  });
  await waitFor(() => load.acked > 300, { timeoutMs: 30_000, message: "publishing started" });

  let before = await waitBalanced(nc, ["a"]);
  for (const [i, id] of [
    [1, "b"],
    [2, "c"],
  ] as const) {
    const joiner = node(id, i);
    await joiner.ready;
    const members = ["a", "b", "c"].slice(0, i + 1);
    const after = await waitBalanced(nc, members);
    const moved = after.shards.filter((s) => s.owner !== before.shards[s.shard]!.owner);
    t.true(moved.length <= Math.ceil(shards / members.length), `join of ${id} moved ${moved.length} shards`);
    t.true(
      moved.every((s) => s.owner === id),
      `only ${id} gained shards; moved: ${moved.map((s) => `${s.shard} ${before.shards[s.shard]!.owner}→${s.owner}`).join(", ")}`,
    );
    t.log(`join of ${id}: ${moved.length} shards moved (P/(N+1) = ${(shards / members.length).toFixed(1)})`);
    // Epochs grow with every new owner.
    for (const s of moved) t.true(s.epoch! > before.shards[s.shard]!.epoch!, `shard ${s.shard} epoch grew`);
    before = after;
    await waitFor(() => load.acked > 300 * (i + 2), { timeoutMs: 30_000, message: "publishing continued" });
  }
  await load.stop();
  await reader.stop();
  t.deepEqual(failures, [], "every read was answered (after client retries)");
  t.true(reads > 0);
  t.log(`${load.acked} events acked, ${reads} reads during the joins`);
  await assertExact(t, nc, load.truth);
});
