/**
 * `@tally/client`: typed access to a Tally cluster over an existing NATS connection.
 * @packageDocumentation
 */

export { tallyClient } from "./client.js";
export type { GetQuery, IncOptions, IncResult, SeriesQuery, TallyClient, TallyClientOptions } from "./client.js";
export { ClientError, ClientErrorCode } from "./errors.js";
// Kept under the client's name for existing imports; the one list lives in core.
export { RETRYABLE_CODES } from "@tally/core";
