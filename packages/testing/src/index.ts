/**
 * `@tally/testing`: real nats-server processes for tests, benchmarks and `tally dev`.
 * @packageDocumentation
 */
export { startCluster } from "./cluster.js";
export { TestingError, TestingErrorCode } from "./errors.js";
export { findNatsServer } from "./find-nats-server.js";
export { startServer } from "./launcher.js";
export { tempDir } from "./temp-dir.js";
export { waitFor } from "./wait-for.js";
export { trackProcess } from "./process-registry.js";

export type { TestingErrorOptions } from "./errors.js";
export type { TempDir } from "./temp-dir.js";
export type { ClusterOptions, NatsCluster, NatsServer, ServerOptions } from "./types.js";
export type { WaitForOptions } from "./wait-for.js";
