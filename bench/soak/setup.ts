/**
 * The cluster of a soak phase: a nats-server with the Tally mappings, set up by the real
 * `tally init` (its retention and log limits are what the soak measures).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { natsMappings } from "@tally/node";
import { startServer, type NatsServer } from "@tally/testing";
import { onCleanup } from "../lib/cleanup.js";
import { ROOT } from "../lib/paths.js";
import { log } from "../lib/time.js";
import { SHARDS } from "./options.js";

const run = promisify(execFile);

/** A phase's server, its connection and JetStream handles. */
export interface SoakCluster {
  server: NatsServer;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** What `tally init` printed. */
  init: string;
  /** Settings `tally init` refused (an option this build does not have), with its message. */
  refused: string | undefined;
}

/**
 * Starts a nats-server with the mappings for {@link SHARDS} shards and runs
 * `tally init --shards 64 <required> <wanted>`. When init refuses `wanted` (an older build
 * without those options) it runs again with `required` only and records why in `refused`,
 * so the phase can say what it could not measure. Server and connection close at cleanup.
 */
export async function startSoakCluster(name: string, required: string[], wanted: string[]): Promise<SoakCluster> {
  const server = await startServer({ extraConfig: natsMappings(SHARDS) });
  onCleanup(() => server.stop());
  const nc = await connect({ servers: server.url, name });
  onCleanup(() => nc.close());
  let refused: string | undefined;
  let init: string;
  try {
    init = await tallyInit(server.url, [...required, ...wanted]);
  } catch (err) {
    if (wanted.length === 0) throw err;
    const why = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    refused = `tally init ${wanted.join(" ")}: ${why}`;
    log(`${name}: ${refused}; going on without those settings`);
    init = await tallyInit(server.url, required);
  }
  return { server, nc, js: jetstream(nc), jsm: await jetstreamManager(nc), init, refused };
}

/** `tally init --shards 64 …` through the CLI; its stdout, or an error with its stderr. */
async function tallyInit(url: string, args: string[]): Promise<string> {
  const argv = ["--import", "tsx", "packages/cli/src/bin.ts", "--nats", url, "init", "--shards", String(SHARDS)];
  try {
    const { stdout } = await run(process.execPath, [...argv, ...args], { cwd: ROOT, timeout: 60_000 });
    return stdout.trim();
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(stderr || String(err), { cause: err });
  }
}
