import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { connect } from "@nats-io/transport-node";
import { INIT_DEFAULTS, NODE_DEFAULTS, initCluster, natsMappings, startNode, type TallyNode } from "@tally/node";
import { startServer, type NatsServer } from "@tally/testing";
import type { Period } from "@tally/core";
import { DEV_NODE_USER, devAuthConfig, devNodePassword } from "../dev-auth.js";
import { int, periodsArg } from "../options.js";

/**
 * Defaults of `tally dev`; the port is the one of the nodes' default NATS URL, so the other
 * commands find the dev server without `--nats`.
 */
const DEV_DEFAULTS = {
  dir: ".tally/dev",
  port: Number(new URL(NODE_DEFAULTS.natsUrl).port),
  nodes: 1,
  /** The first node's HTTP port (dashboard and metrics); a free one when it is taken. */
  httpPort: 8080,
} as const;

/** Options of `tally dev`. */
interface DevOptions {
  dir: string;
  port: number;
  shards: number;
  periods?: Period[];
  httpPort?: number;
  /** Nodes to run in this process. */
  nodes: number;
}

/** `tally dev`: a local nats-server and nodes, ready to count. */
export function registerDev(program: Command): void {
  program
    .command("dev")
    .description("run a local nats-server (with the Tally mappings) and nodes, ready to count")
    .option("--dir <dir>", "where the server config, JetStream data and node data live", DEV_DEFAULTS.dir)
    .option("--port <port>", "NATS client port", int("--port"), DEV_DEFAULTS.port)
    .option("--shards <P>", "number of shards", int("--shards"), INIT_DEFAULTS.shards)
    .option(
      "--periods <list>",
      `periods to count, comma-separated (default ${INIT_DEFAULTS.periods.join(",")})`,
      periodsArg,
    )
    .option(
      "--http <port>",
      `serve the first node's dashboard and metrics on this port, the next nodes on the next ports (default ${DEV_DEFAULTS.httpPort}, or a free port when it is taken; 0: free ports)`,
      int("--http"),
    )
    .option(
      "--nodes <n>",
      "number of nodes (each with its own data dir under --dir)",
      int("--nodes"),
      DEV_DEFAULTS.nodes,
    )
    .action(
      async (o: { dir: string; port: number; shards: number; periods?: Period[]; http?: number; nodes: number }) => {
        await runDev({
          dir: o.dir,
          port: o.port,
          shards: o.shards,
          nodes: o.nodes,
          ...(o.periods ? { periods: o.periods } : {}),
          ...(o.http !== undefined ? { httpPort: o.http } : {}),
        });
      },
    );
}

/**
 * The embedded default: a local nats-server (config and data under `dir`) with
 * the Tally mappings, `init`, and `nodes` nodes in this process (ids dev-1…,
 * data under `dir/node-<i>`; a single node keeps `dir/node`). Resolves on exit.
 */
async function runDev(o: DevOptions): Promise<void> {
  const dir = resolve(o.dir);
  // Private (0700): it holds the server's data and the node user's password.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let server: NatsServer | undefined;
  const nodes: TallyNode[] = [];
  const count = o.nodes;
  if (!Number.isInteger(count) || count < 1 || count > 16)
    throw new Error(`--nodes must be from 1 to 16, got ${count}`);
  const nodePassword = devNodePassword();
  const stop = async () => {
    await Promise.allSettled(nodes.map((n) => n.close()));
    await server?.stop();
  };
  try {
    server = await startServer({
      port: o.port,
      workDir: dir,
      storeDir: join(dir, "nats"),
      extraConfig: `${natsMappings(o.shards)}\n${devAuthConfig(nodePassword)}`,
    });
    const connection = { servers: server.url, user: DEV_NODE_USER, pass: nodePassword };
    const nc = await connect(connection);
    await initCluster(nc, { shards: o.shards, ...(o.periods ? { periods: o.periods } : {}) });
    await nc.close();
    const start = (i: number, httpPort: number) =>
      startNode({
        connection,
        dataDir: join(dir, count === 1 ? "node" : `node-${i}`),
        id: `dev-${i}`,
        httpPort,
      });
    for (let i = 1; i <= count; i++) {
      const port =
        o.httpPort === undefined ? (i === 1 ? DEV_DEFAULTS.httpPort : 0) : o.httpPort === 0 ? 0 : o.httpPort + i - 1;
      nodes.push(
        await start(i, port).catch((err: unknown) => {
          // The default port is taken (another dev, another server): any port will do, its URL is printed.
          if (o.httpPort === undefined && (err as NodeJS.ErrnoException).code === "EADDRINUSE") return start(i, 0);
          throw err;
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const url = server.url;
  const env = url === NODE_DEFAULTS.natsUrl ? "" : `TALLY_NATS_URL=${url} `;
  process.stdout.write(
    [
      "",
      `Tally is running: nats-server at ${url} (config ${server.configFile}), ${count === 1 ? "one node" : `${count} nodes (${nodes.map((n) => n.id).join(", ")})`}, data in ${dir}`,
      `Dashboard: http://127.0.0.1:${nodes[0]!.httpPort}/`,
      ...nodes.filter((n) => n.httpPort).map((n) => `Metrics of ${n.id}: http://127.0.0.1:${n.httpPort}/metrics`),
      "",
      "Count and read:",
      `  ${env}pnpm tally inc web home            # +1`,
      `  ${env}pnpm tally inc web home 5`,
      `  ${env}pnpm tally get web home --period day`,
      `  ${env}pnpm tally top web                    # its biggest counters`,
      `  ${env}pnpm tally status                   # members, shard owners, lag`,
      "Or with any NATS client:",
      `  nats --server ${url} pub count.web.home ""          # +1 (JetStream acks it)`,
      `  nats --server ${url} req count.get.web.home '{"period":"day"}'`,
      "",
      "Ctrl-C stops it (final snapshot, then exit).",
      "",
    ]
      .filter((l, i, a) => l !== "" || a[i - 1] !== "")
      .join("\n"),
  );
  await new Promise<void>((done) => {
    const onSignal = () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      void stop().then(done, done);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    for (const n of nodes) void n.closed().then(onSignal);
  });
}
