import { createHash } from "node:crypto";
import type { FrameReader } from "./checkpoint-frames.js";
import { yieldToEventLoop } from "./checkpoint-frames.js";
import { partMismatch, type Manifest } from "./checkpoint-manifest.js";
import type { CheckpointObjects } from "./checkpoint-objects.js";
import {
  decodePart,
  readPartHeader,
  type FlatEntries,
  type FlatRemovals,
  type PartHeader,
} from "./checkpoint-parts.js";

/** Bytes hashed per slice, between yields. */
const HASH_SLICE_BYTES = 1 << 20;

/** A part fetched and verified against the manifest, its data frames not decoded yet. */
export interface LoadedPart {
  name: string;
  header: PartHeader;
  frames: FrameReader;
}

/**
 * The outcome of {@link loadChain}: every part, verified; or the name of one that is
 * missing (gone, or deleted mid-read: the manifest may have moved); or the reason one
 * is corrupt.
 */
export type ChainLoad =
  | { status: "loaded"; parts: LoadedPart[] }
  | { status: "missing"; part: string }
  | { status: "corrupt"; part: string; reason: string };

/**
 * Fetches every part of the manifest's chain and verifies each before any is used:
 * size and SHA-256 against the manifest, then its header (shard, kind, sequence, entry
 * counts, parent link to the part before it). Data frames are decoded later, by
 * {@link deliverChain} or a compaction.
 */
export async function loadChain(objects: CheckpointObjects, m: Manifest): Promise<ChainLoad> {
  const parts: LoadedPart[] = [];
  for (let i = 0; i < m.parts.length; i++) {
    const name = m.parts[i]!.name;
    const got = await objects.fetch(name);
    if (!got) return { status: "missing", part: name };
    const digest = await sha256Hex(got.body);
    let loaded: { header: PartHeader; frames: FrameReader };
    try {
      loaded = readPartHeader(got.body);
    } catch (err) {
      return { status: "corrupt", part: name, reason: err instanceof Error ? err.message : String(err) };
    }
    const reason = partMismatch(m, i, loaded.header, got.body.length, digest);
    if (reason) return { status: "corrupt", part: name, reason };
    parts.push({ name, ...loaded });
  }
  return { status: "loaded", parts };
}

/**
 * Decodes the verified parts in order, handing on one frame (at most 8192 entries) at a
 * time with a yield between. Throws if a frame does not decode or the counts disagree
 * with the header, after earlier slices may have been delivered.
 */
export async function deliverChain(
  parts: LoadedPart[],
  onUpserts: (flat: FlatEntries) => void,
  onRemovals: (flat: FlatRemovals) => void,
): Promise<void> {
  for (const p of parts) {
    try {
      await decodePart(p.header, p.frames, onUpserts, onRemovals);
    } catch (err) {
      throw new Error(`part ${p.name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
}

/** SHA-256 (hex) of a body, hashed a slice at a time with yields between. */
export async function sha256Hex(body: Uint8Array): Promise<string> {
  const sha = createHash("sha256");
  for (let i = 0; i < body.length; i += HASH_SLICE_BYTES) {
    sha.update(body.subarray(i, Math.min(body.length, i + HASH_SLICE_BYTES)));
    if (i + HASH_SLICE_BYTES < body.length) await yieldToEventLoop();
  }
  return sha.digest("hex");
}
