import { randomBytes } from "node:crypto";
import { TestingError, TestingErrorCode } from "./errors.js";
import { badOption, launch, resolveServerOptions } from "./launcher.js";
import { freePorts, getJson } from "./net-util.js";
import type { ClusterOptions, NatsCluster, NatsServer } from "./types.js";
import { waitFor } from "./wait-for.js";

const READY_TIMEOUT_MS = 30_000;
// Pre-allocated route ports can be taken by someone else before nats-server binds them.
const PORT_CLASH_ATTEMPTS = 3;

/**
 * Starts a cluster of `size` nats-servers on 127.0.0.1 (JetStream on by default): route
 * ports are pre-allocated so every server knows all routes at boot; each server gets a
 * `server_name` (n1, n2, …), its own temp store dir and a monitoring port. Resolves once
 * every server's `/jsz` names the same JetStream meta leader (or, without JetStream, once
 * every server has its routes).
 *
 * @throws {@link TestingError} `BAD_OPTION`, `SERVER_START_FAILED`, `CLUSTER_NOT_READY`
 * @example
 * const cluster = await startCluster({ size: 3 });
 * t.teardown(() => cluster.stop());
 * const nc = await connect({ servers: cluster.urls });
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<NatsCluster> {
  const { size = 3, ...rest } = opts;
  if (!Number.isInteger(size) || size < 1) {
    badOption(`size must be an integer >= 1, got ${size}`);
  }
  const serverOpts = resolveServerOptions(rest);

  for (let attempt = 1; ; attempt++) {
    const name = `tally-test-${randomBytes(4).toString("hex")}`;
    const routePorts = await freePorts(size);
    const settled = await Promise.allSettled(
      routePorts.map((port, i) =>
        launch(serverOpts, {
          serverName: `n${i + 1}`,
          cluster: { name, port, routes: routePorts.filter((p) => p !== port) },
        }),
      ),
    );
    const servers = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const failure = settled.find((s) => s.status === "rejected");
    if (failure !== undefined) {
      await Promise.all(servers.map((s) => s.stop()));
      const err: unknown = failure.reason;
      if (attempt < PORT_CLASH_ATTEMPTS && isPortClash(err)) continue;
      throw err;
    }

    try {
      await waitFor(() => (serverOpts.jetstream ? metaLeaderAgreed(servers) : routesUp(servers)), {
        timeoutMs: READY_TIMEOUT_MS,
        intervalMs: 100,
        message: serverOpts.jetstream
          ? `a JetStream meta leader agreed by all ${size} servers`
          : `routes between all ${size} servers`,
      });
    } catch (err) {
      await Promise.all(servers.map((s) => s.stop()));
      throw new TestingError(
        TestingErrorCode.ClusterNotReady,
        `cluster ${name} did not become ready: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return makeCluster(servers);
  }
}

function makeCluster(list: NatsServer[]): NatsCluster {
  const servers = Object.freeze([...list]);
  let stopping: Promise<void> | undefined;
  return {
    servers,
    urls: servers.map((s) => s.url),
    stop() {
      stopping ??= Promise.all(servers.map((s) => s.stop())).then(() => undefined);
      return stopping;
    },
  };
}

/**
 * True once every server names the same meta leader and counts every peer in its meta
 * group (a loaded server can agree on the leader before it has heard of every peer);
 * throws a description otherwise.
 */
async function metaLeaderAgreed(servers: readonly NatsServer[]): Promise<boolean> {
  const metas = await Promise.all(
    servers.map(async (s) => field(await getJson(`${s.monitorUrl}/jsz`), "meta_cluster")),
  );
  const leaders = metas.map((m) => field(m, "leader"));
  const sizes = metas.map((m) => field(m, "cluster_size"));
  const distinct = new Set(leaders);
  if (
    distinct.size === 1 &&
    typeof leaders[0] === "string" &&
    leaders[0] !== "" &&
    sizes.every((n) => n === servers.length)
  )
    return true;
  throw new Error(
    `meta leader and group size per server: ${leaders.map((l, i) => `n${i + 1}=${String(l ?? "none")}/${String(sizes[i] ?? "?")}`).join(", ")}`,
  );
}

/** True once every server has a route to each other one. */
async function routesUp(servers: readonly NatsServer[]): Promise<boolean> {
  const counts = await Promise.all(
    servers.map(async (s) => field(await getJson(`${s.monitorUrl}/routez`), "num_routes")),
  );
  if (counts.every((c) => typeof c === "number" && c >= servers.length - 1)) return true;
  throw new Error(`routes per server: ${counts.map((c, i) => `n${i + 1}=${String(c)}`).join(", ")}`);
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function isPortClash(err: unknown): boolean {
  return (
    err instanceof TestingError &&
    err.code === TestingErrorCode.ServerStartFailed &&
    /address already in use/i.test(err.message)
  );
}
