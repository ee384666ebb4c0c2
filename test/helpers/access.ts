import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { PermissionViolationError, type NatsConnection } from "@nats-io/transport-node";
import { natsMappings } from "@tally/node";
import { startServer, waitFor, type NatsServer } from "@tally/testing";
import { ROOT } from "./cluster.js";

/** The users of deploy/tally-auth.conf, each with the env variable holding its password. */
export const AUTH_USERS = {
  node: { user: "tally-node", env: "TALLY_NODE_PASSWORD" },
  admin: { user: "tally-admin", env: "TALLY_ADMIN_PASSWORD" },
  web: { user: "web", env: "TALLY_WEB_PASSWORD" },
  mobile: { user: "mobile", env: "TALLY_MOBILE_PASSWORD" },
} as const;

export type AuthUser = keyof typeof AUTH_USERS;

/** A server running deploy/tally-auth.conf as shipped, and the passwords it was given. */
export interface AuthServer {
  server: NatsServer;
  passwords: Record<AuthUser, string>;
}

/**
 * Starts a nats-server with the Tally mappings and deploy/tally-auth.conf verbatim; the
 * passwords are random and reach the server through its environment, as in production.
 */
export async function startAuthServer(shards: number): Promise<AuthServer> {
  const passwords = {} as Record<AuthUser, string>;
  for (const [k, u] of Object.entries(AUTH_USERS)) {
    passwords[k as AuthUser] = `t${randomBytes(12).toString("hex")}`;
    // Inherited by the nats-server child process (this test file runs in its own process).
    process.env[u.env] = passwords[k as AuthUser];
  }
  const auth = await readFile(join(ROOT, "deploy", "tally-auth.conf"), "utf8");
  const server = await startServer({ extraConfig: `${natsMappings(shards)}\n${auth}` });
  return { server, passwords };
}

/** The permission errors the server reported to one connection, as `publish <subject>` / `subscription <subject>`. */
export function violations(nc: NatsConnection): Set<string> {
  const seen = new Set<string>();
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error" && s.error instanceof PermissionViolationError)
        seen.add(`${s.error.operation} ${s.error.subject}`);
    }
  })();
  return seen;
}

/** Waits until `seen` holds a violation matching each pattern. */
export async function waitViolations(seen: Set<string>, patterns: RegExp[]): Promise<void> {
  await waitFor(() => patterns.every((p) => [...seen].some((v) => p.test(v))), {
    timeoutMs: 10_000,
    message: `permission violations ${patterns.map(String).join(", ")} (seen: ${[...seen].join(", ")})`,
  });
}
