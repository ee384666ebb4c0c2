/** The nats-server of a benchmark run, set up for Tally. */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { initCluster, natsMappings } from "@tally/node";
import { startServer, type NatsServer } from "@tally/testing";
import { onCleanup } from "./cleanup.js";

/**
 * Starts a nats-server with the mappings for `shards` shards, connects as `name` and runs
 * `initCluster` with default settings; server and connection are closed at cleanup.
 */
export async function startTallyServer(
  shards: number,
  name: string,
): Promise<{ server: NatsServer; nc: NatsConnection }> {
  const server = await startServer({ extraConfig: natsMappings(shards) });
  onCleanup(() => server.stop());
  const nc = await connect({ servers: server.url, name });
  onCleanup(() => nc.close());
  await initCluster(nc, { shards });
  return { server, nc };
}
