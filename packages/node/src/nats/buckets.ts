import type { NatsConnection } from "@nats-io/transport-node";
import { Kvm, type KV } from "@nats-io/kv";
import { Objm, type ObjectStore } from "@nats-io/obj";
import { NodeError } from "../errors.js";

/** Opens a KV bucket that `tally init` creates; `NOT_INITIALIZED` (with the fix) when it is missing. */
export function openKv(nc: NatsConnection, bucket: string): Promise<KV> {
  return new Kvm(nc).open(bucket).catch((err: unknown) => {
    throw notInitialized(`no ${bucket} bucket`, err);
  });
}

/** Opens an object store that `tally init` creates; `NOT_INITIALIZED` (with the fix) when it is missing. */
export function openObjectStore(nc: NatsConnection, bucket: string): Promise<ObjectStore> {
  return new Objm(nc).open(bucket).catch((err: unknown) => {
    throw notInitialized(`no ${bucket} object store`, err);
  });
}

function notInitialized(what: string, cause: unknown): NodeError {
  return new NodeError("NOT_INITIALIZED", `${what}: run \`tally init\` (again, if the cluster predates it)`, {
    cause,
  });
}
