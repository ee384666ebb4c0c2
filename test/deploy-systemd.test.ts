import test from "ava";
import { natsMappings } from "@tally/node";
import { parseTallyArgs, tallyEnvVars } from "./helpers/cli-program.js";
import { deployFile, parseEnvFile, parseUnit, systemdSeconds, unitValue } from "./helpers/deploy-files.js";

const tallyUnit = parseUnit(deployFile("systemd/tally-node.service"));
const natsUnit = parseUnit(deployFile("systemd/nats-server.service"));
const env = parseEnvFile(deployFile("systemd/tally.env"));

/** tally-node.service's ExecStart: the program, the script and the CLI's arguments (`%H` as systemd fills it in). */
const execStart = () => {
  const [program, script, ...args] = unitValue(tallyUnit, "Service", "ExecStart").split(/\s+/);
  return { program, script, args: args.map((a) => (a === "%H" ? "tally-a" : a)) };
};

test("systemd - tally-node.service runs the build with plain node, and its flags are the node's", (t) => {
  const { program, script, args } = execStart();
  t.is(program, "/usr/bin/node");
  t.is(script, "/opt/tally/packages/cli/dist/bin.js", "the build, not the TypeScript sources");
  t.is(unitValue(tallyUnit, "Service", "WorkingDirectory"), "/opt/tally");
  const { command, opts } = parseTallyArgs(args, env);
  t.is(command, "node");
  t.is(opts.id, "tally-a", "the host name is the node id");
  t.is(opts.data, "/var/lib/tally");
  // Private data dirs, and a memory bound the node keeps under the unit's MemoryMax.
  t.is(unitValue(tallyUnit, "Service", "StateDirectoryMode"), "0700");
  t.is(unitValue(natsUnit, "Service", "StateDirectoryMode"), "0700");
  const memoryMax = Number(/^(\d+)G$/.exec(unitValue(tallyUnit, "Service", "MemoryMax"))![1]) * 2 ** 30;
  t.true(
    (opts.maxMemory as number) > 0 && (opts.maxMemory as number) <= 0.85 * memoryMax,
    "--max-memory under MemoryMax",
  );
  t.is(unitValue(tallyUnit, "Service", "StateDirectory"), "tally", "systemd creates /var/lib/tally for the node");
  t.is(opts.httpHost, "0.0.0.0", "Prometheus scrapes from another host");
  t.is(unitValue(tallyUnit, "Service", "KillSignal"), "SIGTERM", "SIGTERM is the node's graceful stop");
  const stopSec = systemdSeconds(unitValue(tallyUnit, "Service", "TimeoutStopSec"));
  t.true(
    stopSec * 1000 > (opts.stopTimeout as number),
    `TimeoutStopSec ${stopSec} s is longer than --stop-timeout ${String(opts.stopTimeout)} ms`,
  );
  t.is(unitValue(tallyUnit, "Service", "EnvironmentFile"), "/etc/tally/tally.env");
});

test("systemd - a flag the CLI does not know would be refused by the parse these tests rely on", (t) => {
  const { args } = execStart();
  t.throws(() => parseTallyArgs([...args, "--stop-timout", "1000"]), { message: /unknown option/ });
  t.throws(() => parseTallyArgs(["node", "--data", "/x", "--http", "nine"]), { message: /--http/ });
});

test("systemd - tally.env sets only variables the CLI reads, and every NATS server", (t) => {
  const known = tallyEnvVars();
  for (const key of Object.keys(env)) t.true(known.has(key), `${key} is read by the CLI`);
  const { connection } = parseTallyArgs(execStart().args, env);
  t.deepEqual(connection.nats.split(","), ["nats://nats-1:4222", "nats://nats-2:4222", "nats://nats-3:4222"]);
});

test("systemd - nats-server.service runs nats-cluster.conf with the server name it reads, and outlasts lame duck mode", (t) => {
  const conf = deployFile("nats-cluster.conf");
  t.regex(unitValue(natsUnit, "Service", "ExecStart"), /^\/usr\/sbin\/nats-server -c \/etc\/nats\/nats-cluster\.conf$/);
  t.regex(conf, /^server_name: \$NATS_SERVER_NAME$/m);
  t.is(unitValue(natsUnit, "Service", "Environment"), "NATS_SERVER_NAME=%H");
  t.is(unitValue(natsUnit, "Service", "KillSignal"), "SIGUSR2", "lame duck mode on stop");
  const lameDuck = systemdSeconds(/^lame_duck_duration: (\S+)$/m.exec(conf)![1]!);
  const grace = systemdSeconds(/^lame_duck_grace_period: (\S+)$/m.exec(conf)![1]!);
  t.true(systemdSeconds(unitValue(natsUnit, "Service", "TimeoutStopSec")) > lameDuck + grace);
  t.is(unitValue(natsUnit, "Service", "StateDirectory"), "nats");
  t.regex(conf, /^\s+store_dir: \/var\/lib\/nats$/m);
});

test("systemd - the cluster config has three routes, JetStream, and includes the mappings for the cluster's shards", (t) => {
  const conf = deployFile("nats-cluster.conf");
  t.is([...conf.matchAll(/nats-route:\/\/[^\s]+/g)].length, 3);
  t.regex(conf, /^jetstream \{$/m);
  t.regex(conf, /^include tally-mappings\.conf$/m);
  t.regex(deployFile("nats-single.conf"), /^include tally-mappings\.conf$/m);
  // Only nodes write internal subjects: both configs carry the users and permissions.
  t.regex(conf, /^include tally-auth\.conf$/m);
  t.regex(deployFile("nats-single.conf"), /^include tally-auth\.conf$/m);
  // The server's environment file sets every password tally-auth.conf reads.
  t.is(unitValue(natsUnit, "Service", "EnvironmentFile"), "/etc/nats/nats-auth.env");
  const wanted = [...deployFile("tally-auth.conf").matchAll(/password: \$(\w+)/g)].map((m) => m[1]).sort();
  t.deepEqual(Object.keys(parseEnvFile(deployFile("systemd/nats-auth.env"))).sort(), wanted);
  const shards = Number(/partition\((\d+),/.exec(deployFile("tally-mappings.conf"))![1]);
  t.is(deployFile("tally-mappings.conf"), natsMappings(shards));
});
