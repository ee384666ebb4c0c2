/**
 * 2. and 3. A third node joins two under load while every shard is read all the time: the
 * longest read per moved shard (the hand-off gap), and how many shards moved.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { TallyClient } from "@tally/client";
import { waitFor } from "@tally/testing";
import { busyBetween, machineCpu } from "../lib/cpu.js";
import { summary } from "../lib/stats.js";
import { log, nowMs } from "../lib/time.js";
import { ownersOf, waitBalanced } from "./cluster-status.js";
import type { ClusterNode } from "./nodes.js";
import { spawnClusterNode } from "./nodes.js";
import { PROBE_PAUSE_MS, SHARDS, TARGETS } from "./options.js";
import { ShardProbes } from "./shard-probes.js";

/**
 * Spawns `n3` (data dir `n3Dir`) while `n1` and `n2` own the shards and `client` reads each
 * probe key in a loop; returns the join figures, `n3` and the owners after the join.
 */
export async function measureJoin(
  nc: NatsConnection,
  url: string,
  n3Dir: string,
  client: TallyClient,
  probeKeys: string[],
  [n1, n2]: [ClusterNode, ClusterNode],
) {
  log("join: starting n3 under load, reading every shard throughout");
  const probes = new ShardProbes(client, probeKeys);
  await waitFor(() => probes.reads.every((r) => r.length >= 3), { timeoutMs: 30_000, message: "probes running" });
  const before = await waitBalanced(nc, ["n1", "n2"]);
  const cpu0 = machineCpu();
  const n3 = await spawnClusterNode(url, n3Dir, "n3");
  const after = await waitBalanced(nc, ["n1", "n2", "n3"]);
  const settledAt = nowMs();
  await probes.answeredSince(settledAt, 60_000);
  await probes.stop();
  const joinBusy = busyBetween(cpu0, machineCpu());
  const joinStart = n3.spawnedAt;

  const movedShards = after.shards.filter((s) => s.owner !== before.shards[s.shard]!.owner).map((s) => s.shard);
  const gaps = movedShards.map((s) => ({ shard: s, ms: probes.longest(s, joinStart) }));
  const unmovedGaps = after.shards
    .filter((s) => !movedShards.includes(s.shard))
    .map((s) => probes.longest(s.shard, joinStart));
  const gapStats = summary(gaps.map((g) => g.ms));
  const readsDuringJoin = probes.reads.reduce((a, rs) => a + rs.filter((r) => r.end >= joinStart).length, 0);
  const ideal = SHARDS / 3;
  const join = {
    spawnToReadyMs: n3.readyAt - n3.spawnedAt,
    spawnToBalancedMs: settledAt - joinStart,
    machineBusy: joinBusy,
    handoffGap: {
      ...gapStats,
      perShard: gaps,
      unmovedShards: summary(unmovedGaps),
      probePauseMs: PROBE_PAUSE_MS,
      readsDuringJoin,
      readsFailed: probes.failures.length,
      failures: probes.failures.slice(0, 20),
      answersWentBackwards: probes.backwards,
      target: `p99 <= ${TARGETS.handoffGapP99Ms} ms and 0 failed reads`,
      met: gapStats.p99 <= TARGETS.handoffGapP99Ms && probes.failures.length === TARGETS.failedReads,
    },
    moves: {
      moved: movedShards.length,
      movedTo: Object.fromEntries(
        ["n1", "n2", "n3"].map((m) => [m, movedShards.filter((s) => after.shards[s]!.owner === m).length]),
      ),
      ideal,
      ratio: movedShards.length / ideal,
      ownersBefore: ownersOf(before),
      ownersAfter: ownersOf(after),
      target: `moved / (P/(N+1)) <= ${TARGETS.movedRatio}`,
      met: movedShards.length / ideal <= TARGETS.movedRatio,
    },
    logs: {
      n3: n3.child.logs.filter((l) => l.msg === "shards taken").map((l) => ({ atMs: l.at - joinStart, ...l.j })),
      handedOff: [n1, n2].flatMap((n) =>
        n.child.logs
          .filter((l) => l.msg === "shard handed off" && l.at >= joinStart)
          .map((l) => ({ node: n.child.name, atMs: l.at - joinStart, shard: l.j.shard, ms: l.j.ms })),
      ),
    },
  };
  return { join, n3, after };
}
