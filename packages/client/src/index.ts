export { tallyClient } from "./client.js";
export type { GetQuery, IncOptions, IncResult, SeriesQuery, TallyClient, TallyClientOptions } from "./client.js";
export { ClientError, ClientErrorCode, RETRYABLE_CODES } from "./errors.js";
