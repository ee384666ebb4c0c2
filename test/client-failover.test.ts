import test from "ava";
import { tallyClient } from "@tally/client";
import { DEFAULT_PERIODS } from "@tally/core";
import { tempDir, waitFor } from "@tally/testing";
import { backgroundLoop } from "./helpers/background.js";
import { FAST_NODE, spawnNode, tallyCluster, waitBalanced } from "./helpers/cluster.js";
import { within } from "./helpers/deadline.js";
import { assertCountsExact } from "./helpers/exact-reads.js";
import { DAY, RECENT_MONDAY } from "./helpers/time.js";
import { Truth } from "./helpers/truth.js";

const BASE = RECENT_MONDAY + DAY;

test.serial(
  "client failover - increments while a node is killed: the survivor takes over, the client's reads equal ground truth",
  async (t) => {
    const { nc, url } = await tallyCluster(t, { shards: 8 });
    const ids = ["a", "b"];
    const dirs = await Promise.all(ids.map(() => tempDir("tally-cfo-")));
    for (const d of dirs) t.teardown(() => d.remove());
    const nodes = ids.map((id, i) => spawnNode(t, url, dirs[i]!.path, ["--id", id, ...FAST_NODE]));
    await Promise.all(nodes.map((n) => n.ready));
    await waitBalanced(nc, ids);

    const client = tallyClient(nc, { maxInFlight: 64, retryDeadlineMs: 30_000 });
    const truth = new Truth();
    let next = 0;
    // Eight producers, each with its own pipeline of increments.
    const load = backgroundLoop(t, { name: "increments", nc, concurrency: 8 }, async () => {
      const batch = Array.from({ length: 16 }, () => {
        const i = next++;
        const name = i % 3 === 0 ? `site.${i % 12}.com` : `k${i % 24}`;
        const delta = (i % 5) + 1;
        const ts = BASE + ((i * 7919) % (2 * DAY));
        return client
          .increment("fo", name, delta, { ts })
          .then((seq) => truth.add("fo", name, delta, ts, DEFAULT_PERIODS, seq));
      });
      await Promise.all(batch);
    });
    await waitFor(() => truth.lastSeq > 1000, { timeoutMs: 30_000, message: "increments acked" });
    nodes[1]!.proc.kill("SIGKILL");
    t.is(await within(nodes[1]!.exited, 10_000, "node b to die of SIGKILL"), "SIGKILL");
    const acked = truth.lastSeq;
    await waitFor(() => truth.lastSeq > acked + 1000, {
      timeoutMs: 30_000,
      message: "increments go on after the kill",
    });
    await load.stop();
    // Read at once: b's shards are still moving to a, and the client retries through it.
    const compared = await assertCountsExact(t, client, truth, truth.lastSeq);
    t.log(`${next} increments, ${compared} values compared after node b was killed`);
    await waitBalanced(nc, ["a"]);
  },
);
