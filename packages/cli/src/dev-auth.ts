import { randomBytes } from "node:crypto";
import { DLQ_STREAM, MEMBERS_BUCKET, LEASES_BUCKET, CHECKPOINT_HEADS_BUCKET, CHECKPOINTS_BUCKET } from "@tally/node";

/** User `tally dev`'s own nodes connect as. */
export const DEV_NODE_USER = "tally-node";
/** User every other client of `tally dev` is, without credentials (the server's `no_auth_user`). */
export const DEV_CLIENT_USER = "dev";

/**
 * What a client of `tally dev` may not publish: Tally's internal subjects (dead-letter records,
 * gathers), removing dead-letter records or any stream, and the nodes' own buckets (members,
 * leases, checkpoints). Everything else, `tally init` and the other admin commands included,
 * works without credentials. Events and reads are checked as the server maps them
 * (`tally.ev.…`, `tally.rd.…`), so those stay open: publishing there directly is counting
 * and reading.
 */
export const DEV_CLIENT_PUBLISH_DENY = [
  "tally.dlq.>",
  "tally.ns.>",
  "$JS.API.STREAM.DELETE.>",
  `$JS.API.STREAM.PURGE.${DLQ_STREAM}`,
  `$JS.API.STREAM.MSG.DELETE.${DLQ_STREAM}`,
  `$KV.${MEMBERS_BUCKET}.>`,
  `$KV.${LEASES_BUCKET}.>`,
  `$KV.${CHECKPOINT_HEADS_BUCKET}.>`,
  `$O.${CHECKPOINTS_BUCKET}.>`,
] as const;

/**
 * Nor may it take requests meant for nodes (answering a gather would forge a shard's part
 * of a top or list) or see dead-letter records being written.
 */
export const DEV_CLIENT_SUBSCRIBE_DENY = ["tally.ns.>", "tally.dlq.>"] as const;

/** A random password for the dev nodes' user, new on every `tally dev` start. */
export function devNodePassword(): string {
  return randomBytes(18).toString("base64url");
}

/**
 * The `authorization` block of `tally dev`'s server: the nodes' user (password given) may do
 * everything; everyone else is {@link DEV_CLIENT_USER}, limited as above.
 */
export function devAuthConfig(nodePassword: string): string {
  const list = (xs: readonly string[]) => `[${xs.map((x) => JSON.stringify(x)).join(", ")}]`;
  return [
    "# Only Tally's nodes publish its internal subjects; every other client is user dev.",
    "authorization {",
    "  users: [",
    `    { user: ${JSON.stringify(DEV_NODE_USER)}, password: ${JSON.stringify(nodePassword)} }`,
    `    { user: ${JSON.stringify(DEV_CLIENT_USER)}, password: ${JSON.stringify(devNodePassword())}, permissions: {`,
    `        publish: { deny: ${list(DEV_CLIENT_PUBLISH_DENY)} }`,
    `        subscribe: { deny: ${list(DEV_CLIENT_SUBSCRIBE_DENY)} } } }`,
    "  ]",
    "}",
    `no_auth_user: ${JSON.stringify(DEV_CLIENT_USER)}`,
  ].join("\n");
}
