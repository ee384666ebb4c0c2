import { createHash } from "node:crypto";
import { unpack } from "msgpackr";
import { shardKey } from "../names.js";
import type { CheckpointObjects, StoredObject } from "./checkpoint-objects.js";
import { flatProblem, UPSERT_WIDTH, type FlatEntries } from "./checkpoint-parts.js";

/**
 * Version 1 checkpoints: one object `shard-<n>` holding a shard's whole state as a single
 * msgpack map `{ v: 1, shard, seq, epoch, node, at, e: [ns, name, key, value, …] }`. Still
 * read, as a base, until the shard has a chain; never written.
 */
export interface V1Checkpoint {
  seq: number;
  epoch: number;
  node: string;
  entries: FlatEntries;
  /** Body size. */
  bytes: number;
  /** The object it came from (garbage once a chain exists). */
  object: StoredObject;
}

/** Name of a shard's version 1 object. */
export const v1Name = shardKey;

/**
 * Reads the shard's version 1 checkpoint: undefined if there is none (or it vanished
 * while being read); throws with the reason if it fails its digest or does not decode.
 * Decoding is one synchronous unpack: the format has no frames (legacy only).
 */
export async function readV1(objects: CheckpointObjects, shard: number): Promise<V1Checkpoint | undefined> {
  const got = await objects.fetch(v1Name(shard));
  if (!got) return undefined;
  const { object, body } = got;
  const digest = createHash("sha256").update(body).digest("base64url");
  if (object.digest.replace(/=+$/, "") !== `SHA-256=${digest}`) throw new Error("fails its digest");
  const s = unpack(body) as {
    v?: unknown;
    shard?: unknown;
    seq?: unknown;
    epoch?: unknown;
    node?: unknown;
    e?: unknown;
  };
  if (s?.v !== 1 || s.shard !== shard || !Number.isSafeInteger(s.seq) || !Array.isArray(s.e))
    throw new Error("unexpected version 1 layout");
  const problem = flatProblem(s.e as unknown[], UPSERT_WIDTH);
  if (problem) throw new Error(`malformed entries: ${problem}`);
  return {
    seq: s.seq as number,
    epoch: typeof s.epoch === "number" ? s.epoch : 0,
    node: typeof s.node === "string" ? s.node : "",
    entries: s.e as FlatEntries,
    bytes: body.length,
    object,
  };
}
