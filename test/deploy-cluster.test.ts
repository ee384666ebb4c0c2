import { join } from "node:path";
import test from "ava";
import { connect } from "@nats-io/transport-node";
import { tempDir, waitFor } from "@tally/testing";
import { freePorts } from "../packages/testing/src/net-util.js";
import { ROOT, waitBalanced } from "./helpers/cluster.js";
import { within } from "./helpers/deadline.js";
import {
  deployFile,
  deployManifests,
  parseEnvFile,
  parseUnit,
  systemdSeconds,
  unitValue,
} from "./helpers/deploy-files.js";
import {
  DIST_BIN,
  buildDist,
  runDist,
  spawnDistNode,
  startConfigCluster,
  waitReady,
  type DistNode,
} from "./helpers/deploy-processes.js";
import { assertExact, startLoad } from "./helpers/load.js";

/**
 * A node's command line, from systemd/tally-node.service's ExecStart as written, with only
 * what differs between two nodes on one test machine replaced: the repository's place
 * (/opt/tally), node itself, the host name (%H: the node id), the data dir and the HTTP
 * port. `--min-members 3` (three machines) becomes 2: this test runs two nodes.
 */
function nodeCommandLine(execStart: string, id: string, dataDir: string, httpPort: number): string[] {
  const argv = execStart.split(/\s+/).map((a) =>
    a
      .replace(/^\/opt\/tally\//, join(ROOT, "/"))
      .replace(/^%H$/, id)
      .replace(/^\/var\/lib\/tally$/, dataDir),
  );
  if (argv[0] !== "/usr/bin/node") throw new Error(`ExecStart runs ${argv[0]}, expected /usr/bin/node`);
  argv[0] = process.execPath;
  const set = (flag: string, value: string) => {
    const i = argv.indexOf(flag);
    if (i < 0) throw new Error(`ExecStart has no ${flag}`);
    argv[i + 1] = value;
  };
  set("--http", String(httpPort));
  set("--min-members", "2");
  return argv;
}

test("deploy - the 3-server config of deploy/ on loopback, init and two nodes from the built JavaScript count exactly; a systemd stop hands off", async (t) => {
  await buildDist();
  const cluster = await startConfigCluster(t);
  // The servers run tally-auth.conf: the test reads and counts as the admin, init runs as
  // the admin, the nodes on their own least-privilege user as tally.env sets it.
  const admin = { user: "tally-admin", pass: cluster.passwords.TALLY_ADMIN_PASSWORD! };
  const nc = await connect({ servers: cluster.urls, ...admin, maxReconnectAttempts: -1 });
  t.teardown(() => nc.close());
  const unitEnv = parseEnvFile(deployFile("systemd/tally.env"));
  t.is(unitEnv.TALLY_NATS_USER, "tally-node", "nodes connect as the node user");
  const env = {
    ...unitEnv,
    TALLY_NATS_URL: cluster.urls.join(","),
    TALLY_NATS_PASSWORD: cluster.passwords.TALLY_NODE_PASSWORD!,
  };
  const adminEnv = { ...env, TALLY_NATS_USER: admin.user, TALLY_NATS_PASSWORD: admin.pass };
  // Without credentials the servers refuse a client.
  await t.throwsAsync(connect({ servers: cluster.urls, maxReconnectAttempts: 0, reconnect: false }));

  // Init as the Kubernetes Job runs it (its shard count is the mappings' one).
  const job = deployManifests("k8s/tally.yaml").find((m) => m.kind === "Job")!;
  const initArgs = (job.spec as JobSpec).template.spec.containers[0]!.args;
  t.log(await runDist(initArgs, adminEnv));

  const unit = parseUnit(deployFile("systemd/tally-node.service"));
  const execStart = unitValue(unit, "Service", "ExecStart");
  const httpPorts = await freePorts(2);
  const nodes: DistNode[] = [];
  for (const [i, id] of ["a", "b"].entries()) {
    const dir = await tempDir(`tally-deploy-${id}-`);
    t.teardown(() => dir.remove());
    const argv = nodeCommandLine(execStart, id, dir.path, httpPorts[i]!);
    t.true(argv.includes(DIST_BIN), "the unit runs the build");
    nodes.push(spawnDistNode(t, id, httpPorts[i]!, argv, env));
  }
  await Promise.all(nodes.map((n) => waitReady(n)));
  await waitBalanced(nc, ["a", "b"], 120_000);

  const load = startLoad(t, nc, { concurrency: 8 });
  await waitFor(() => load.acked >= 2000, { timeoutMs: 60_000, message: "2000 events acked" });
  await load.stop();
  t.log(`${load.acked} events acked over ${load.truth.counters.size} counters`);
  await assertExact(t, nc, load.truth);

  // `systemctl stop` sends KillSignal (SIGTERM) and waits TimeoutStopSec: node b hands
  // its shards off and exits 0 in that time; node a then serves every count.
  t.is(unitValue(unit, "Service", "KillSignal"), "SIGTERM");
  const stopMs = systemdSeconds(unitValue(unit, "Service", "TimeoutStopSec")) * 1000;
  const b = nodes[1]!;
  b.proc.kill("SIGTERM");
  t.is(await within(b.exited, stopMs, "node b to stop within TimeoutStopSec"), 0, b.stderr());
  await waitBalanced(nc, ["a"], 120_000);
  await assertExact(t, nc, load.truth);
});

interface JobSpec {
  template: { spec: { containers: { args: string[] }[] } };
}
