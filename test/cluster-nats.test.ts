import test from "ava";
import { jetstreamManager } from "@nats-io/jetstream";
import { tempDir, waitFor } from "@tally/testing";
import { EVENTS_STREAM, LEASES_BUCKET, MEMBERS_BUCKET, CHECKPOINTS_BUCKET } from "@tally/node";
import { spawnNode, tallyCluster, waitBalanced } from "./helpers/cluster.js";
import { startLoad, assertExact } from "./helpers/load.js";

test("nats - init --replicas 3 makes the stream and every bucket R3; one NATS server of three killed under load loses no acked event", async (t) => {
  // Default lease TTL (5 s): nodes ride through the stream leader's re-election.
  const { cluster, nc, url } = await tallyCluster(t, { size: 3, shards: 16, replicas: 3, leaseTtlMs: 5000 });
  const jsm = await jetstreamManager(nc);
  for (const stream of [EVENTS_STREAM, `KV_${MEMBERS_BUCKET}`, `KV_${LEASES_BUCKET}`, `OBJ_${CHECKPOINTS_BUCKET}`]) {
    t.is((await jsm.streams.info(stream)).config.num_replicas, 3, `${stream} is R3`);
  }
  const ids = ["a", "b", "c"];
  const dirs = await Promise.all(ids.map(() => tempDir("tally-r3-")));
  for (const d of dirs) t.teardown(() => d.remove());
  // Each node is given every server's URL.
  const nodes = ids.map((id, i) =>
    spawnNode(t, url, dirs[i]!.path, [
      "--id",
      id,
      "--heartbeat",
      "300",
      "--member-timeout",
      "3000",
      "--checkpoint-interval",
      "500",
    ]),
  );
  await Promise.all(nodes.map((n) => n.ready));
  await waitBalanced(nc, ids);

  const load = startLoad(t, nc);
  await waitFor(() => load.acked > 1000, { timeoutMs: 30_000, message: "publishing started" });
  // Kill the server that leads the events stream: the hardest one to lose.
  const leader = (await jsm.streams.info(EVENTS_STREAM)).cluster?.leader;
  // Servers are named n1, n2, … in start order.
  const index = leader && /^n\d+$/.test(leader) ? Number(leader.slice(1)) - 1 : 0;
  const victim = cluster.servers[index]!;
  const acked = load.acked;
  await victim.kill("SIGKILL");
  await waitFor(() => load.acked > acked + 2000, {
    timeoutMs: 60_000,
    message: "publishing went on without one server",
  });
  await load.stop();
  t.log(
    `killed n${index + 1} (stream leader ${leader}); ${load.acked} events acked, ${load.retries} publishes retried`,
  );
  for (const n of nodes) t.is(n.proc.exitCode, null, "every node rode through");
  // nats-server 2.9 keeps placing some new consumers on the dead server for up to
  // ~30 s, so shards that lost their consumer may take that long to serve again.
  const started = performance.now();
  await assertExact(t, nc, load.truth, { retryDeadlineMs: 90_000 });
  t.log(`every counter exact and served ${Math.round(performance.now() - started)} ms after publishing stopped`);
});
