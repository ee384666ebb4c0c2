import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { nkeys } from "@nats-io/transport-node";
import { natsMappings } from "@tally/node";

const run = promisify(execFile);
const b64url = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");

/** A NATS JWT (header, claims, ed25519 signature of the issuer), as nats-server checks it. */
function signJwt(issuer: nkeys.KeyPair, sub: string, name: string, nats: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }));
  const claims = {
    jti: randomBytes(16).toString("hex"),
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub,
    nats: { ...nats, version: 2 },
  };
  const body = `${header}.${b64url(JSON.stringify(claims))}`;
  return `${body}.${b64url(issuer.sign(new TextEncoder().encode(body)))}`;
}

const UNLIMITED = { subs: -1, data: -1, payload: -1 };

/**
 * Operator mode in memory: an operator, one account (JetStream on, Tally's mappings for
 * `shards` in its JWT) and one user. Returns the server config to append and the user's
 * creds file text.
 */
export function operatorMode(shards: number): { serverConfig: string; creds: string } {
  const op = nkeys.createOperator();
  const acc = nkeys.createAccount();
  // JetStream in operator mode needs a system account.
  const sys = nkeys.createAccount();
  const user = nkeys.createUser();
  const opJwt = signJwt(op, op.getPublicKey(), "tally-test-op", { type: "operator" });
  const mappings: Record<string, { subject: string; weight: number }[]> = {};
  // The same mappings as `tally nats-config` prints, in the account's JWT.
  for (const [, from, to] of natsMappings(shards).matchAll(/"([^"]+)": "([^"]+)"/g))
    mappings[from!] = [{ subject: to!, weight: 100 }];
  const accJwt = signJwt(op, acc.getPublicKey(), "TALLY", {
    type: "account",
    limits: {
      ...UNLIMITED,
      imports: -1,
      exports: -1,
      wildcards: true,
      conn: -1,
      leaf: -1,
      mem_storage: -1,
      disk_storage: -1,
      streams: -1,
      consumer: -1,
    },
    default_permissions: { pub: {}, sub: {} },
    mappings,
  });
  const sysJwt = signJwt(op, sys.getPublicKey(), "SYS", {
    type: "account",
    limits: { ...UNLIMITED, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 },
  });
  const userJwt = signJwt(acc, user.getPublicKey(), "tally-test-user", {
    type: "user",
    pub: {},
    sub: {},
    ...UNLIMITED,
  });
  const seed = new TextDecoder().decode(user.getSeed());
  const creds = [
    "-----BEGIN NATS USER JWT-----",
    userJwt,
    "------END NATS USER JWT------",
    "",
    "-----BEGIN USER NKEY SEED-----",
    seed,
    "------END USER NKEY SEED------",
    "",
  ].join("\n");
  const serverConfig = [
    `operator: ${opJwt}`,
    `system_account: ${sys.getPublicKey()}`,
    "resolver: MEMORY",
    `resolver_preload: { ${acc.getPublicKey()}: ${accJwt}, ${sys.getPublicKey()}: ${sysJwt} }`,
  ].join("\n");
  return { serverConfig, creds };
}

/** Files of a test PKI: a CA, a server cert for 127.0.0.1 and a client cert, all signed by the CA. */
export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** Makes a throw-away CA, server and client certificates (P-256, one day) in `dir` with openssl. */
export async function makePki(dir: string): Promise<TestPki> {
  const p = (f: string) => join(dir, f);
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...key,
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=tally-test-ca",
  ]);
  for (const [who, ext] of [
    ["server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"],
    ["client", "extendedKeyUsage=clientAuth\n"],
  ] as const) {
    await writeFile(p(`${who}.ext`), ext);
    await run("openssl", [
      "req",
      ...key,
      "-keyout",
      p(`${who}.key`),
      "-out",
      p(`${who}.csr`),
      "-subj",
      `/CN=tally-test-${who}`,
    ]);
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      p(`${who}.csr`),
      "-CA",
      p("ca.pem"),
      "-CAkey",
      p("ca.key"),
      "-CAcreateserial",
      "-out",
      p(`${who}.pem`),
      "-days",
      "1",
      "-extfile",
      p(`${who}.ext`),
    ]);
  }
  return {
    ca: p("ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
  };
}
