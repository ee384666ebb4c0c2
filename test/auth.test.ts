import test, { type ExecutionContext } from "ava";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { connect, credsAuthenticator, nkeyAuthenticator, nkeys, type ConnectionOptions } from "@nats-io/transport-node";
import { initCluster, natsMappings } from "@tally/node";
import { startServer, tempDir } from "@tally/testing";
import { runTally } from "./helpers/cli.js";
import { inProcessNode, spawnNode } from "./helpers/cluster.js";
import { makePki, operatorMode } from "./helpers/auth-material.js";

/**
 * Each way of authenticating, against a server that requires it: `tally init`'s work and a
 * node on those credentials, then the CLI counting and reading with its flags, and a
 * connection without them refused. (User and password: test/access.test.ts.) One at a
 * time: each runs a server, a node and CLI processes.
 */
const SHARDS = 8;

interface AuthCase {
  /** Server config requiring the method (the mappings are added unless `mappings: false`). */
  serverConfig: string;
  mappings?: boolean;
  /** How the test's own connection and the in-process node authenticate. */
  connection: Partial<ConnectionOptions>;
  /** The CLI flags that authenticate. */
  flags: string[];
  /** Runs the node as a `tally node` child with `flags` instead of in this process. */
  cliNode?: boolean;
}

async function proveAuth(t: ExecutionContext, c: AuthCase): Promise<void> {
  const server = await startServer({
    extraConfig: `${c.mappings === false ? "" : natsMappings(SHARDS)}\n${c.serverConfig}`,
  });
  t.teardown(() => server.stop());
  const nc = await connect({ servers: server.url, ...c.connection });
  t.teardown(() => nc.close());
  await initCluster(nc, { shards: SHARDS });
  if (c.cliNode) {
    const dir = await tempDir("tally-auth-node-");
    t.teardown(() => dir.remove());
    await spawnNode(t, server.url, dir.path, c.flags).ready;
  } else {
    await inProcessNode(t, server.url, { connection: { servers: server.url, ...c.connection } });
  }
  const env = { TALLY_NATS_URL: server.url };
  const inc = await runTally(["inc", "web", "home", "2", "--json", ...c.flags], { env });
  t.is(inc.code, 0, inc.stderr);
  const { seq } = JSON.parse(inc.stdout) as { seq: number };
  const get = await runTally(["get", "web", "home", "--min-seq", String(seq), "--json", ...c.flags], { env });
  t.is(get.code, 0, get.stderr);
  t.is((JSON.parse(get.stdout) as { value: number }).value, 2);
  // And the server does require it.
  await t.throwsAsync(connect({ servers: server.url, maxReconnectAttempts: 0, timeout: 5000 }));
}

test.serial("auth - token", async (t) => {
  const token = randomBytes(16).toString("hex");
  await proveAuth(t, {
    serverConfig: `authorization { token: ${JSON.stringify(token)} }`,
    connection: { token },
    flags: ["--token", token],
  });
});

test.serial("auth - nkey seed file, for the CLI and a `tally node` process", async (t) => {
  const dir = await tempDir("tally-auth-nkey-");
  t.teardown(() => dir.remove());
  const user = nkeys.createUser();
  const seedFile = join(dir.path, "user.nk");
  await writeFile(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600 });
  await proveAuth(t, {
    serverConfig: `authorization { users: [ { nkey: ${user.getPublicKey()} } ] }`,
    connection: { authenticator: nkeyAuthenticator(user.getSeed()) },
    flags: ["--nkey", seedFile],
    cliNode: true,
  });
});

test.serial("auth - creds file (operator mode: operator, account and user JWTs)", async (t) => {
  const dir = await tempDir("tally-auth-creds-");
  t.teardown(() => dir.remove());
  const { serverConfig, creds } = operatorMode(SHARDS);
  const credsFile = join(dir.path, "user.creds");
  await writeFile(credsFile, creds, { mode: 0o600 });
  await proveAuth(t, {
    serverConfig,
    mappings: false, // in operator mode they live in the account's JWT
    connection: { authenticator: credsAuthenticator(new TextEncoder().encode(creds)) },
    flags: ["--creds", credsFile],
  });
});

test.serial("auth - TLS with a client certificate the server verifies", async (t) => {
  const dir = await tempDir("tally-auth-tls-");
  t.teardown(() => dir.remove());
  const pki = await makePki(dir.path);
  const q = JSON.stringify;
  await proveAuth(t, {
    serverConfig: `tls { cert_file: ${q(pki.serverCert)}, key_file: ${q(pki.serverKey)}, ca_file: ${q(pki.ca)}, verify: true }`,
    connection: { tls: { caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey } },
    flags: ["--tls-ca", pki.ca, "--tls-cert", pki.clientCert, "--tls-key", pki.clientKey],
  });
});
