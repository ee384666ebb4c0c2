import { jetstreamManager } from "@nats-io/jetstream";
import test from "ava";
import { connect } from "@nats-io/transport-node";
import { initCluster, natsMappings, readClusterConfig, startNode, type NodeError } from "@tally/node";
import { startServer, tempDir } from "@tally/testing";
import { tallyCli, tallyServer } from "./helpers/cluster.js";
import { within } from "./helpers/deadline.js";

const tally = tallyCli;

test("init - nats-config prints only the mappings block", async (t) => {
  const { stdout, stderr } = await tally(["nats-config", "--shards", "16"]);
  t.is(stdout, natsMappings(16));
  t.regex(stdout, /^mappings \{\n {2}"count\.\*\.\*": "tally\.ev\.\{\{partition\(16,1,2\)\}\}/);
  t.is(stderr, "");
});

test("init - creates streams and bucket, is idempotent, keeps the shard count", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 16, init: false });
  const first = await initCluster(nc, { shards: 16 });
  t.deepEqual(first.created.sort(), [
    "kv tally_checkpoint_heads",
    "kv tally_config",
    "kv tally_leases",
    "kv tally_members",
    "objects tally_checkpoints",
    "stream TALLY_DLQ",
    "stream TALLY_EVENTS",
  ]);
  const again = await initCluster(nc, { shards: 16 });
  t.deepEqual(again.created, []);
  t.is((await readClusterConfig(nc)).shards, 16);
  t.is((await readClusterConfig(nc)).leaseTtlMs, 5000);
  const err = await t.throwsAsync(initCluster(nc, { shards: 32 }));
  t.is((err as NodeError).code, "CONFIG_MISMATCH");
  const ttl = await t.throwsAsync(initCluster(nc, { leaseTtlMs: 2000 }));
  t.is((ttl as NodeError).code, "CONFIG_MISMATCH");
  const bad = await t.throwsAsync(initCluster(nc, { leaseTtlMs: 10 }));
  t.is((bad as NodeError).code, "BAD_OPTION");
  // The lease bucket expires entries after the lease TTL.
  const leases = await (await jetstreamManager(nc)).streams.info("KV_tally_leases");
  t.is(leases.config.max_age, 5000 * 1_000_000);
  // The CLI does the same, via TALLY_NATS_URL-equivalent --nats.
  const { stdout } = await tally(["--nats", server.url, "init"]);
  t.regex(stdout, /exists +stream TALLY_EVENTS/);
  t.regex(stdout, /16 shards/);
});

test("init - refuses clearly when the server has no mapping", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const nc = await connect({ servers: server.url });
  t.teardown(() => nc.close());
  const err = await t.throwsAsync(initCluster(nc, { shards: 16, probeTimeoutMs: 500 }));
  t.is((err as NodeError).code, "MAPPING_MISSING");
  t.regex((err as Error).message, /tally nats-config --shards 16/);
  const cli = await t.throwsAsync(tally(["--nats", server.url, "init", "--shards", "16"]));
  t.regex((cli as unknown as { stderr: string }).stderr, /MAPPING_MISSING/);
});

test("init - refuses when the server's shard count differs", async (t) => {
  const server = await startServer({ extraConfig: natsMappings(32) });
  t.teardown(() => server.stop());
  const nc = await connect({ servers: server.url });
  t.teardown(() => nc.close());
  const err = await t.throwsAsync(initCluster(nc, { shards: 16 }));
  t.is((err as NodeError).code, "MAPPING_MISMATCH");
  t.regex((err as Error).message, /maps .* to 32 shards, but the cluster uses 16/);
});

test("init - a node refuses to start on an uninitialised cluster", async (t) => {
  const { server } = await tallyServer(t, { shards: 16, init: false });
  const dir = await tempDir();
  t.teardown(() => dir.remove());
  const err = await t.throwsAsync(
    startNode({ connection: { servers: server.url }, dataDir: dir.path, logLevel: "error" }),
  );
  t.is((err as NodeError).code, "NOT_INITIALIZED");
});

test("init - a data dir built from another stream is refused, not mixed in", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 16 });
  const dir = await tempDir();
  t.teardown(() => dir.remove());
  const node = await within(
    startNode({ connection: { servers: server.url }, dataDir: dir.path, logLevel: "error" }),
    60_000,
    "the first node to start",
  );
  await within(node.close(), 60_000, "the first node to close");
  const { jetstreamManager } = await import("@nats-io/jetstream");
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete("TALLY_EVENTS");
  await initCluster(nc, { shards: 16 });
  const err = await t.throwsAsync(
    startNode({ connection: { servers: server.url }, dataDir: dir.path, logLevel: "error" }),
  );
  t.is((err as NodeError).code, "DATA_DIR_MISMATCH");
});

test("init - deploy/tally-mappings.conf is what nats-config prints for 64 shards", async (t) => {
  const { readFile } = await import("node:fs/promises");
  t.is(await readFile(new URL("../deploy/tally-mappings.conf", import.meta.url), "utf8"), natsMappings(64));
});

test("init - a node that fails to start releases everything (no hang, data dir reusable)", async (t) => {
  const { server } = await tallyServer(t, { shards: 16 });
  const dir = await tempDir();
  t.teardown(() => dir.remove());
  const { createServer } = await import("node:net");
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
  t.teardown(() => new Promise<void>((r) => busy.close(() => r())));
  const port = (busy.address() as { port: number }).port;
  await t.throwsAsync(
    within(
      startNode({ connection: { servers: server.url }, dataDir: dir.path, httpPort: port, logLevel: "fatal" }),
      60_000,
      "a node with a busy HTTP port to fail its start",
    ),
    { message: /EADDRINUSE/ },
  );
  // The data dir lock was released and the node's timers stopped: a new node starts on it.
  const node = await within(
    startNode({ connection: { servers: server.url }, dataDir: dir.path, logLevel: "fatal" }),
    60_000,
    "a node to start on the released data dir",
  );
  await within(node.close(), 60_000, "the node to close");
  t.is(node.status, "closed");
});

test("init - before init, the client's publish fails with NO_STREAM, not a false ack", async (t) => {
  const { nc } = await tallyServer(t, { shards: 16, init: false });
  const { tallyClient } = await import("@tally/client");
  const err = await t.throwsAsync(tallyClient(nc).inc("web", "home"));
  t.is((err as { code?: string }).code, "NO_STREAM");
});
