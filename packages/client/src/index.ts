/**
 * `@tally/client`: typed access to a Tally cluster over an existing NATS connection —
 * pipelined acked publishing, a pre-aggregating batcher, point, series and
 * namespace-wide reads.
 * @packageDocumentation
 */

export { resolveClientOptions, tallyClient } from "./client.js";
export type { ResolvedClientOptions, TallyClient } from "./client.js";
export type { GetQuery, IncOptions, IncrementOptions, IncResult, SeriesQuery, TallyClientOptions } from "./types.js";
export { resolveBatcherOptions } from "./batcher.js";
export type { Batcher, BatcherOptions, BatcherStats } from "./batcher.js";
export type { ListPageQuery, ListQuery, TopQuery } from "./namespace-reads.js";
// The reply shapes live in core (the node builds them); re-exported for client users.
export type { GatherFlags, ListReply, TopItem, TopReply } from "@tally/core";
export { ClientError, ClientErrorCode } from "./errors.js";
export type { ClientErrorOptions } from "./errors.js";
// Kept under the client's name for existing imports; the one list lives in core.
export { RETRYABLE_CODES } from "@tally/core";
