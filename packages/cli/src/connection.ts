import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import {
  connect,
  credsAuthenticator,
  errors,
  nkeyAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
} from "@nats-io/transport-node";
import { NODE_DEFAULTS } from "@tally/node";
import { CliError, CliErrorCode } from "./errors.js";

/** Connection flags every command accepts (each also read from its TALLY_NATS_* variable). */
export interface ConnectionFlags {
  nats: string;
  creds?: string;
  user?: string;
  password?: string;
  token?: string;
  /** File holding an nkey seed (`SU…`). */
  nkey?: string;
  /** Prefix of this connection's reply inboxes, e.g. `_INBOX_web` (the team's permissions allow it). */
  inboxPrefix?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** Adds the connection flags (global: every command takes them) to `program`. */
export function addConnectionOptions(program: Command): Command {
  return program
    .addOption(
      new Option("--nats <url>", "NATS server URL(s), comma-separated")
        .env("TALLY_NATS_URL")
        .default(NODE_DEFAULTS.natsUrl),
    )
    .addOption(new Option("--creds <file>", "NATS credentials file").env("TALLY_NATS_CREDS"))
    .addOption(new Option("--user <user>", "NATS user").env("TALLY_NATS_USER"))
    .addOption(new Option("--password <password>", "NATS password").env("TALLY_NATS_PASSWORD"))
    .addOption(new Option("--token <token>", "NATS token").env("TALLY_NATS_TOKEN"))
    .addOption(new Option("--nkey <seed-file>", "file holding a NATS nkey seed (SU…)").env("TALLY_NATS_NKEY"))
    .addOption(
      new Option(
        "--inbox-prefix <prefix>",
        "prefix of reply subjects, e.g. _INBOX_web (the inbox your NATS user may subscribe to)",
      ).env("TALLY_NATS_INBOX_PREFIX"),
    )
    .addOption(new Option("--tls-ca <file>", "CA certificate for TLS").env("TALLY_NATS_TLS_CA"))
    .addOption(new Option("--tls-cert <file>", "client certificate for TLS").env("TALLY_NATS_TLS_CERT"))
    .addOption(new Option("--tls-key <file>", "client key for TLS").env("TALLY_NATS_TLS_KEY"));
}

/** Reads the connection flags of a command's run (they are the program's options). */
export type FlagsOf = () => ConnectionFlags;

/** Turns the flags into nats.js connection options. */
export function connectionOptions(f: ConnectionFlags): ConnectionOptions {
  const opts: ConnectionOptions = {
    servers: f.nats
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  };
  if (f.creds && f.nkey)
    throw new CliError(CliErrorCode.BAD_OPTION, "give --creds or --nkey, not both (a creds file holds its own nkey)");
  if (f.creds) opts.authenticator = credsAuthenticator(readFlagFile("--creds", f.creds));
  if (f.user) opts.user = f.user;
  if (f.password) opts.pass = f.password;
  if (f.token) opts.token = f.token;
  if (f.nkey)
    opts.authenticator = nkeyAuthenticator(
      new TextEncoder().encode(new TextDecoder().decode(readFlagFile("--nkey", f.nkey)).trim()),
    );
  if (f.inboxPrefix) opts.inboxPrefix = f.inboxPrefix;
  if (f.tlsCa || f.tlsCert || f.tlsKey) {
    opts.tls = {
      ...(f.tlsCa ? { caFile: f.tlsCa } : {}),
      ...(f.tlsCert ? { certFile: f.tlsCert } : {}),
      ...(f.tlsKey ? { keyFile: f.tlsKey } : {}),
    };
  }
  return opts;
}

/** Reads the file a flag names; `BAD_OPTION` naming the flag if it cannot. */
function readFlagFile(flag: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CliError(CliErrorCode.BAD_OPTION, `cannot read the ${flag} file: ${(err as Error).message}`);
  }
}

/** Reconnect attempts of a long command (2 s apart: about a minute), e.g. `inc --stdin` riding out a server restart. */
const LONG_COMMAND_RECONNECTS = 30;

/**
 * Runs a command on its own connection, closed afterwards whatever happens. A short
 * command fails at once when the connection drops; with `reconnect` it reconnects for
 * about a minute first.
 */
export async function withConnection<T>(
  f: ConnectionFlags,
  fn: (nc: NatsConnection) => Promise<T>,
  opts: { reconnect?: boolean } = {},
): Promise<T> {
  const nc = await connect({
    ...connectionOptions(f),
    name: "tally-cli",
    maxReconnectAttempts: opts.reconnect ? LONG_COMMAND_RECONNECTS : 0,
  });
  try {
    return await Promise.race([fn(nc), refusal(nc)]);
  } finally {
    await nc.close();
  }
}

/**
 * Rejects with the server's first permission error on `nc`. A refused publish or request
 * is otherwise only a timeout (the server drops it and tells the connection apart), so a
 * command waiting for a reply fails at once with `PERMISSION_DENIED` instead.
 */
function refusal(nc: NatsConnection): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "error" && s.error instanceof errors.PermissionViolationError) {
          reject(s.error);
          return;
        }
      }
    })();
  });
}
