import test from "ava";
import { jetstreamManager } from "@nats-io/jetstream";
import { pino } from "pino";
import { tallyClient } from "@tally/client";
import { shardOf } from "@tally/core";
import { EVENTS_STREAM, clusterStatus } from "@tally/node";
import { waitFor } from "@tally/testing";
import { Checkpoints } from "../packages/node/src/storage/checkpoints.js";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";

test("idle checkpoint - shards without events keep their checkpoint up with the log, so a truncated log marks none of them", async (t) => {
  const shards = 4;
  const { server, nc } = await tallyServer(t, { shards });
  const opts = { checkpointIntervalMs: 200 };
  const first = await inProcessNode(t, server.url, opts);
  const client = tallyClient(nc);
  const busy = shardOf("web", "busy", shards);
  let last = 0;
  let total = 0;
  for (let i = 0; i < 50; i++) {
    last = (await client.inc("web", "busy")).seq;
    total++;
  }
  // Only one shard gets events; every shard's checkpoint must still reach the last sequence.
  const checkpoints = await Checkpoints.open(nc, pino({ level: "silent" }));
  await waitFor(
    async () => {
      for (let s = 0; s < shards; s++) if (((await checkpoints.head(s))?.seq ?? 0) < last) return false;
      return true;
    },
    { timeoutMs: 20_000, message: "every shard's checkpoint to reach the last sequence" },
  );
  t.true(
    first.stats().every((s) => s.shard === busy || s.eventsApplied === 0),
    "the other shards had no event",
  );

  // The log drops everything; a node with an empty data dir restores every shard from checkpoints, unmarked.
  await first.close();
  await (await jetstreamManager(nc)).streams.purge(EVENTS_STREAM);
  const second = await inProcessNode(t, server.url, opts);
  await waitFor(() => second.stats().length === shards && second.stats().every((s) => s.ready), {
    timeoutMs: 30_000,
    message: "every shard served again",
  });
  t.true(
    (await clusterStatus(nc)).shards.every((s) => s.logGap === undefined),
    "no shard is marked",
  );
  t.is((await client.get("web", "busy")).value, total);
});
