import { errors } from "@nats-io/transport-node";
import { TallyError } from "@tally/core";

/**
 * Codes the CLI gives failures that come from the NATS connection itself rather than from
 * Tally (which has its own codes), so every error it prints starts with a code.
 */
export const CliErrorCode = {
  /** No NATS server answered at the `--nats` URL. */
  CONNECTION_FAILED: "CONNECTION_FAILED",
  /** The server refused the credentials. */
  AUTHORIZATION: "AUTHORIZATION",
  /** The user may not publish or subscribe on a subject. */
  PERMISSION_DENIED: "PERMISSION_DENIED",
  /** Options that do not go together, or a missing one. */
  BAD_OPTION: "BAD_OPTION",
  /** Anything without a code of its own. */
  ERROR: "ERROR",
} as const;

/** A mistake the CLI itself catches (options that do not go together), with a {@link CliErrorCode}. */
export class CliError extends TallyError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = "CliError";
  }
}

/** An error as the CLI prints it: a code, what happened, and what to do about it. */
export interface DescribedError {
  code: string;
  message: string;
  /** What to do next; absent when the message says it already. */
  hint?: string;
  /** Shards that did not answer (`PARTIAL`). */
  missingShards?: number[];
}

/** What the CLI was run with, for hints that name it. */
export interface ErrorContext {
  /** The `--nats` URL(s). */
  natsUrl: string;
}

const NODE_HINT =
  "is a Tally node running? Start one with `tally node --data DIR` (after `tally init`), or `tally dev` " +
  "for a local nats-server and node; `tally status` lists the members";
const RETRY_HINT = "retry in a few seconds; `tally status` shows each shard's owner and lag";

/** Hints per code; a function gets the error and the context. */
const HINTS: Record<string, string | ((e: DescribedError, c: ErrorContext) => string)> = {
  NO_RESPONDERS: NODE_HINT,
  NO_STREAM:
    "`tally nats-config --shards P` prints the mapping for the server's config, and `tally init` creates the stream",
  NOT_INITIALIZED: "run `tally init` once against this NATS server (`tally init --help` lists its options)",
  CONNECTION_FAILED: (_e, c) =>
    `is nats-server running at ${c.natsUrl}? \`tally dev\` starts one with a node; or point --nats ` +
    "(or TALLY_NATS_URL) at your server",
  AUTHORIZATION: "check --creds, --nkey, --user/--password or --token (or their TALLY_NATS_* variables)",
  PERMISSION_DENIED:
    "this NATS user lacks a permission: a namespace's events are `count.<ns>.*` and all its reads `count.*.<ns>.>`; " +
    "a team user also needs its --inbox-prefix (see deploy/ACCESS.md)",
  TIMEOUT: `a node did not answer in time (busy, or a shard still replaying): ${RETRY_HINT}`,
  NOT_READY: `the shard is starting or replaying: ${RETRY_HINT}`,
  SHARD_NOT_OWNED: `the shard is moving between nodes: ${RETRY_HINT}`,
  TOO_MANY_WAITING: `too many reads already wait for that shard to catch up (node option --max-waiting-reads): ${RETRY_HINT}`,
  PARTIAL: (e) =>
    `shard${e.missingShards && e.missingShards.length === 1 ? "" : "s"} ${e.missingShards?.join(", ") ?? "?"} ` +
    `did not answer in time (a node down or shards moving): ${RETRY_HINT}`,
  PERIOD_NOT_ENABLED:
    "the cluster counts only the periods chosen at `tally init --periods`; `tally status --json` shows them (config.periods)",
  TOO_MANY_POINTS: "ask for fewer buckets: a shorter --from/--to range, or a longer --period",
  BUCKET_EXPIRED: "the period's retention (`tally init --retention`) has dropped that bucket; read a later one",
  BAD_SUBJECT:
    "a namespace is one NATS token: no dots, spaces, `*` or `>`, at most 255 bytes; a name may hold any of " +
    "them (it is percent-encoded), up to 255 bytes encoded",
  RESERVED_NAMESPACE: "namespaces `get`, `top`, `list` and any starting with `_` are reserved: pick another",
};

/**
 * The code, message and hint of an error: Tally errors keep their code, NATS connection
 * failures get one of {@link CliErrorCode}.
 */
export function describeError(err: unknown, ctx: ErrorContext): DescribedError {
  const d = baseDescription(err);
  const hint = HINTS[d.code];
  if (hint !== undefined) d.hint = typeof hint === "string" ? hint : hint(d, ctx);
  return d;
}

function baseDescription(err: unknown): DescribedError {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof TallyError) {
    const missing = (err as { missingShards?: unknown }).missingShards;
    return {
      code: err.code,
      message,
      ...(Array.isArray(missing) ? { missingShards: missing.filter((s): s is number => typeof s === "number") } : {}),
    };
  }
  if (err instanceof errors.AuthorizationError || err instanceof errors.UserAuthenticationExpiredError)
    return { code: CliErrorCode.AUTHORIZATION, message };
  if (err instanceof errors.PermissionViolationError) return { code: CliErrorCode.PERMISSION_DENIED, message };
  if (err instanceof errors.ConnectionError) return { code: CliErrorCode.CONNECTION_FAILED, message };
  if (err instanceof errors.NoRespondersError) return { code: "NO_RESPONDERS", message };
  return { code: CliErrorCode.ERROR, message };
}

/**
 * Prints an error on stderr: `tally: CODE: message` and a `hint:` line, or with `json` one
 * JSON object `{"error":{"code","message","hint"}}`. stdout stays for data only.
 */
export function printError(err: unknown, ctx: ErrorContext & { json: boolean }): void {
  const d = describeError(err, ctx);
  if (ctx.json) {
    process.stderr.write(`${JSON.stringify({ error: d })}\n`);
    return;
  }
  process.stderr.write(`tally: ${d.code}: ${d.message}\n${d.hint ? `hint: ${d.hint}\n` : ""}`);
}
