import { readFileSync } from "node:fs";
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";

/** Connection flags every command accepts (each also read from its TALLY_NATS_* variable). */
export interface ConnectionFlags {
  nats: string;
  creds?: string;
  user?: string;
  password?: string;
  token?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** Turns the flags into nats.js connection options. */
export function connectionOptions(f: ConnectionFlags): ConnectionOptions {
  const opts: ConnectionOptions = {
    servers: f.nats
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  };
  if (f.creds) opts.authenticator = credsAuthenticator(readFileSync(f.creds));
  if (f.user) opts.user = f.user;
  if (f.password) opts.pass = f.password;
  if (f.token) opts.token = f.token;
  if (f.tlsCa || f.tlsCert || f.tlsKey) {
    opts.tls = {
      ...(f.tlsCa ? { caFile: f.tlsCa } : {}),
      ...(f.tlsCert ? { certFile: f.tlsCert } : {}),
      ...(f.tlsKey ? { keyFile: f.tlsKey } : {}),
    };
  }
  return opts;
}

/** Runs a short-lived command on its own connection, closed afterwards whatever happens. */
export async function withConnection<T>(f: ConnectionFlags, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ ...connectionOptions(f), name: "tally-cli", maxReconnectAttempts: 0 });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}
