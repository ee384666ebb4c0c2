/**
 * The client figures of issue 9, each phase run `--rounds` times (default 2) in one run:
 *
 *   1. pipelined acked `client.increment` vs a plain `await js.publish` loop, events/s;
 *   2. a batcher fed by one process as fast as it can, adds/s from the first add to
 *      `close()` resolved, into 10k counters.
 *
 * One nats-server with the Tally mappings (`initCluster`, as `tally init`) and one
 * `tally node` child, so that every counter can be read back with `minSeq` and checked
 * against what the bench added.
 *
 *   cd /work/main && npx tsx bench/client.ts [--events N] [--adds M] [--keys K] [--rounds R]
 *
 * Prints a table and writes every raw number to bench/results/client.json. See bench/README.md.
 */
import { loadavg } from "node:os";
import { jetstream } from "@nats-io/jetstream";
import { tallyClient } from "@tally/client";
import { connect } from "@nats-io/transport-node";
import { cleanTempDir, onCleanup, runBench } from "./lib/cleanup.js";
import { benchEnv, gitState } from "./lib/env.js";
import { spawnNode } from "./lib/node-process.js";
import { writeResults } from "./lib/results.js";
import { startTallyServer } from "./lib/server.js";
import { log, nowMs } from "./lib/time.js";
import { measureBatcher, type BatcherRound } from "./client/batcher-phase.js";
import { measureIncrement, type IncrementRound } from "./client/increment-phase.js";
import { clientParams, type ClientRun } from "./client/options.js";
import { printDetails, printTable, summarize } from "./client/report.js";

async function main() {
  const startedAt = nowMs();
  const env = { ...benchEnv(), ...gitState() };
  const params = clientParams();
  log(
    `N=${params.events} M=${params.adds} K=${params.keys} rounds=${params.rounds} on ${env.cpus} cpus, ` +
      `${env.node}, ${env.natsServer}, load ${env.loadavgAtStart.map((l) => l.toFixed(1)).join(" ")}`,
  );

  const { server } = await startTallyServer(params.shards, "tally-bench-client-setup");
  // The measured connection. nats.js creates an Error per request to give a failed one an
  // async stack trace; `noAsyncTraces` (a documented nats.js option) saves that cost.
  const nc = await connect({ servers: server.url, name: "tally-bench-client", noAsyncTraces: !params.asyncTraces });
  onCleanup(() => nc.close());
  const dataDir = await cleanTempDir("tally-bench-client-node-");
  const node = await spawnNode(server.url, dataDir.path);
  const run: ClientRun = { params, server, nc, js: jetstream(nc), client: tallyClient(nc), node };

  // Warm-up (JIT, buffers, the node's first events) on a namespace of its own, not measured.
  const warm = run.client.batcher(params.batcher);
  for (let i = 0; i < 200_000; i++) await warm.add("warm", `k${i % 1000}`);
  await warm.close();
  await Promise.all(Array.from({ length: 2000 }, (_, i) => run.client.increment("warm", `k${i % 1000}`)));

  const increment: IncrementRound[] = [];
  const batcher: BatcherRound[] = [];
  for (let r = 0; r < params.rounds; r++) {
    if (params.only !== "batcher") increment.push(await measureIncrement(run, r));
    if (params.only !== "increment") batcher.push(await measureBatcher(run, r));
  }

  const results = {
    env,
    params,
    ...summarize(increment, batcher),
    increment,
    batcher,
    nodeWarnings: { ...node.child.warnings },
    runMs: nowMs() - startedAt,
    loadavgAtEnd: loadavg(),
  };
  const path = await writeResults("client", results);
  printTable(results);
  printDetails(results, path);
}

await runBench(main);
// Nothing of the run may keep the process alive (a failed phase can leave a client retrying).
process.exit();
