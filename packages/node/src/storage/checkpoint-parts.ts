import { randomBytes } from "node:crypto";
import { CheckpointError } from "../errors.js";
import { encodeFrame, FrameReader, yieldToEventLoop } from "./checkpoint-frames.js";

/** Flat entries: [ns, name, key, value, ns, name, key, value, ...]; key 0 = all-time, else a bucket key. */
export type FlatEntries = (string | number)[];
/** Flat removals (expired buckets): [ns, name, key, ...]. */
export type FlatRemovals = (string | number)[];

/** Array items per entry in {@link FlatEntries} and {@link FlatRemovals}. */
export const UPSERT_WIDTH = 4;
export const REMOVAL_WIDTH = 3;

/** Entries per frame: one frame is packed or decoded (and delivered) per slice, with a yield between. */
export const ENTRIES_PER_FRAME = 8192;

/** A base holds every entry; a delta what changed since its parent. */
export type PartKind = "base" | "delta";

/**
 * First frame of every part: what it claims to be, checked against the manifest that
 * lists it (shard, sequences, parent link, counts) before anything of it is used.
 */
export interface PartHeader {
  v: 2;
  kind: PartKind;
  shard: number;
  /** Every event of the shard with stream sequence ≤ seq is reflected once this part is applied. */
  seq: number;
  /** Sequence of the chain this delta applies on top of (0 for a base). */
  parentSeq: number;
  /** Name of the part before it in the chain (null for a base). */
  parent: string | null;
  epoch: number;
  node: string;
  /** Wall-clock ms when written (informational). */
  at: number;
  /** Number of entries (not array items) in the upsert frames. */
  upserts: number;
  /** Number of entries in the removal frames. */
  removals: number;
}

/** A data frame: upserts (`u`) or removals (`r`), at most {@link ENTRIES_PER_FRAME} entries. */
type DataFrame = { u: FlatEntries } | { r: FlatRemovals };

/**
 * Object name of a new part: `shard-<n>/<epoch>-<seq>-<id>-<kind>`. The random id keeps
 * names unique even for two parts at the same sequence (a compaction's base next to the
 * base it replaces), so a put never replaces an object a manifest may still name.
 */
export function partName(shard: number, kind: PartKind, epoch: number, seq: number): string {
  return `${partPrefix(shard)}${epoch}-${seq}-${randomBytes(6).toString("hex")}-${kind}`;
}

/** Prefix of every part name of `shard`. */
export function partPrefix(shard: number): string {
  return `shard-${shard}/`;
}

/** The shard of a part name, or undefined for any other object name. */
export function parsePartName(name: string): number | undefined {
  const m = /^shard-(0|[1-9][0-9]{0,3})\/[0-9]+-[0-9]+-[0-9a-f]+-(base|delta)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Why `flat` (entries of `width` items) is malformed, or undefined if it is fine. Checks
 * items `[from, to)`; entries are `ns`, `name`, `key` (an integer ≥ 0) and, for upserts,
 * `value` (a safe integer).
 */
export function flatProblem(flat: readonly unknown[], width: number, from = 0, to = flat.length): string | undefined {
  if (flat.length % width !== 0) return `${flat.length} items is not a multiple of ${width}`;
  for (let i = from; i < to; i += width) {
    if (typeof flat[i] !== "string" || typeof flat[i + 1] !== "string")
      return `entry ${i / width}: ns/name not strings`;
    const key = flat[i + 2];
    if (typeof key !== "number" || !Number.isSafeInteger(key) || key < 0) return `entry ${i / width}: bad key`;
    if (width === UPSERT_WIDTH && !Number.isSafeInteger(flat[i + 3])) return `entry ${i / width}: bad value`;
  }
  return undefined;
}

/**
 * The frames of a part: the header, then removals and upserts in frames of at most
 * {@link ENTRIES_PER_FRAME} entries, yielding to the event loop between frames. Entries
 * are checked as they are packed; a malformed one throws `CHECKPOINT_INVALID`.
 */
export async function* packPart(
  header: PartHeader,
  upserts: FlatEntries,
  removals: FlatRemovals,
): AsyncGenerator<Uint8Array> {
  yield encodeFrame(header);
  // Removals first: a delta can remove a bucket and count it again (a retention raised
  // after a sweep), and readers apply the frames in order.
  for (const [flat, width, tag] of [
    [removals, REMOVAL_WIDTH, "r"],
    [upserts, UPSERT_WIDTH, "u"],
  ] as const) {
    const step = ENTRIES_PER_FRAME * width;
    for (let i = 0; i < flat.length; i += step) {
      const end = Math.min(flat.length, i + step);
      const problem = flatProblem(flat, width, i, end);
      if (problem)
        throw new CheckpointError(
          "CHECKPOINT_INVALID",
          header.shard,
          `shard ${header.shard}: malformed ${tag === "u" ? "upserts" : "removals"}: ${problem}`,
        );
      yield encodeFrame({ [tag]: flat.slice(i, end) });
      await yieldToEventLoop();
    }
  }
}

/** Reads and checks the header frame of a part body; throws with the reason if it is not one. */
export function readPartHeader(body: Uint8Array): { header: PartHeader; frames: FrameReader } {
  const frames = new FrameReader(body);
  const h = frames.next() as Partial<PartHeader> | undefined;
  if (
    !h ||
    typeof h !== "object" ||
    h.v !== 2 ||
    (h.kind !== "base" && h.kind !== "delta") ||
    !isCount(h.shard) ||
    !isCount(h.seq) ||
    !isCount(h.parentSeq) ||
    !isCount(h.epoch) ||
    !isCount(h.upserts) ||
    !isCount(h.removals) ||
    typeof h.node !== "string" ||
    (h.parent !== null && typeof h.parent !== "string")
  )
    throw new Error("not a checkpoint part header");
  return { header: h as PartHeader, frames };
}

/**
 * Decodes a part's data frames (after {@link readPartHeader}), one frame per slice with a
 * yield between, handing each slice on. Throws if a frame is malformed or the entry
 * counts differ from the header's.
 */
export async function decodePart(
  header: PartHeader,
  frames: FrameReader,
  onUpserts: (flat: FlatEntries) => void,
  onRemovals: (flat: FlatRemovals) => void,
): Promise<void> {
  let upserts = 0;
  let removals = 0;
  for (let f = frames.next() as DataFrame | undefined; f !== undefined; f = frames.next() as DataFrame | undefined) {
    if (typeof f === "object" && f !== null && "u" in f && Array.isArray(f.u)) {
      const problem = flatProblem(f.u, UPSERT_WIDTH);
      if (problem) throw new Error(`malformed upserts: ${problem}`);
      upserts += f.u.length / UPSERT_WIDTH;
      if (upserts > header.upserts) throw new Error("more upserts than the header declares");
      onUpserts(f.u);
    } else if (typeof f === "object" && f !== null && "r" in f && Array.isArray(f.r)) {
      const problem = flatProblem(f.r, REMOVAL_WIDTH);
      if (problem) throw new Error(`malformed removals: ${problem}`);
      removals += f.r.length / REMOVAL_WIDTH;
      if (removals > header.removals) throw new Error("more removals than the header declares");
      onRemovals(f.r);
    } else {
      throw new Error("unknown frame");
    }
    await yieldToEventLoop();
  }
  if (upserts !== header.upserts || removals !== header.removals)
    throw new Error(
      `part holds ${upserts} upserts and ${removals} removals, its header declares ${header.upserts} and ${header.removals}`,
    );
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
