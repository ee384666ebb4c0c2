import { CheckpointError } from "../errors.js";
import type { PartHeader, PartKind } from "./checkpoint-parts.js";

/** A part as the manifest lists it: enough to find it and to verify it completely. */
export interface ManifestPart {
  /** Object name in the checkpoint object store. */
  name: string;
  kind: PartKind;
  /** The chain's sequence once this part is applied. */
  seq: number;
  /** Entries in its upsert and removal frames. */
  upserts: number;
  removals: number;
  /** Body size and SHA-256 (hex) of the body. */
  bytes: number;
  digest: string;
}

/**
 * A shard's checkpoint manifest: the chain (a base, then deltas in order) and the
 * sequence it reflects, which an empty delta moves without adding a part.
 */
export interface Manifest {
  v: 2;
  shard: number;
  /** Every event of the shard with stream sequence ≤ seq is reflected by the chain. */
  seq: number;
  /** Lease epoch of the last writer: a writer with a lower one is fenced. */
  epoch: number;
  node: string;
  /** Wall-clock ms of the last update (informational). */
  at: number;
  parts: ManifestPart[];
}

/** What a shard's checkpoint holds, from its manifest. */
export interface ChainInfo {
  seq: number;
  epoch: number;
  node: string;
  /** Parts in the chain, base included. */
  parts: number;
  /** Bytes of the base. */
  baseBytes: number;
  /** Bytes of the deltas after the base. */
  chainBytes: number;
}

/** The chain's summary. */
export function chainInfo(m: Manifest): ChainInfo {
  let chainBytes = 0;
  for (let i = 1; i < m.parts.length; i++) chainBytes += m.parts[i]!.bytes;
  return {
    seq: m.seq,
    epoch: m.epoch,
    node: m.node,
    parts: m.parts.length,
    baseBytes: m.parts[0]?.bytes ?? 0,
    chainBytes,
  };
}

/** Whether a chain is worth rewriting as one base: too many parts, or deltas outweigh the base. */
export function chainNeedsCompaction(info: ChainInfo, maxParts: number, compactRatio: number): boolean {
  return info.parts > maxParts || info.chainBytes > compactRatio * info.baseBytes;
}

export function encodeManifest(m: Manifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m));
}

/** Decodes and checks a stored manifest of `shard`; throws with the reason if it is not a sound one. */
export function parseManifest(shard: number, bytes: Uint8Array): Manifest {
  const m = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Manifest>;
  if (!m || typeof m !== "object" || m.v !== 2) throw new Error("not a version 2 manifest");
  if (m.shard !== shard) throw new Error(`manifest of shard ${String(m.shard)} stored for shard ${shard}`);
  if (!isCount(m.seq) || !isCount(m.epoch) || typeof m.node !== "string") throw new Error("bad manifest fields");
  if (!Array.isArray(m.parts) || m.parts.length === 0) throw new Error("manifest lists no parts");
  let prevSeq = 0;
  m.parts.forEach((p: Partial<ManifestPart>, i) => {
    if (
      typeof p.name !== "string" ||
      p.kind !== (i === 0 ? "base" : "delta") ||
      !isCount(p.seq) ||
      !isCount(p.upserts) ||
      !isCount(p.removals) ||
      !isCount(p.bytes) ||
      typeof p.digest !== "string"
    )
      throw new Error(`manifest part ${i} is malformed`);
    if (p.seq < prevSeq) throw new Error(`manifest part ${i} goes back in sequence`);
    prevSeq = p.seq;
  });
  if (m.seq < prevSeq) throw new Error("manifest sequence is behind its last part");
  return m as Manifest;
}

/**
 * Why the part at `index` of the manifest (whose body has `header`, `bytes` and `digest`)
 * is not the part the manifest lists there, or undefined if it is. A delta must name the
 * part before it as its parent and apply on top of a sequence it reached.
 */
export function partMismatch(
  m: Manifest,
  index: number,
  header: PartHeader,
  bytes: number,
  digest: string,
): string | undefined {
  const p = m.parts[index]!;
  if (bytes !== p.bytes || digest !== p.digest) return "size or digest differs from the manifest";
  if (header.shard !== m.shard) return `part of shard ${header.shard}`;
  if (header.kind !== p.kind || header.seq !== p.seq) return "kind or sequence differs from the manifest";
  if (header.upserts !== p.upserts || header.removals !== p.removals) return "entry counts differ from the manifest";
  if (index === 0) return header.parent === null ? undefined : "a base with a parent";
  const prev = m.parts[index - 1]!;
  if (header.parent !== prev.name) return `parent ${String(header.parent)} is not the part before it, ${prev.name}`;
  if (header.parentSeq < prev.seq || header.parentSeq > header.seq) return "parent sequence out of order";
  return undefined;
}

/** A shard's manifest as stored, with the KV revision a compare-and-set must name. */
export interface Head {
  revision: number;
  /** Undefined when the stored manifest is unreadable (`problem` says why): only a base may replace it. */
  manifest?: Manifest;
  problem?: string;
}

/** What a write asks to do, for {@link checkWrite}. */
export interface WriteIntent {
  shard: number;
  seq: number;
  epoch: number;
  base: boolean;
}

/**
 * Refuses a write that must not happen, changing nothing:
 * - `CHECKPOINT_FENCED`: the manifest's epoch is higher (a newer owner wrote);
 * - `CHECKPOINT_STALE`: a delta with no readable chain, or onto a manifest revision other
 *   than the one this writer last saw (`known`), or going back in sequence; a base of the
 *   same epoch going back in sequence. A base of a higher epoch may go back: its writer
 *   is the shard's new owner and its state is exact at its sequence.
 */
export function checkWrite(head: Head | undefined, w: WriteIntent, known: number | undefined): void {
  const m = head?.manifest;
  if (m && m.epoch > w.epoch)
    throw new CheckpointError(
      "CHECKPOINT_FENCED",
      w.shard,
      `shard ${w.shard}: checkpoint written at epoch ${m.epoch}, this writer has epoch ${w.epoch}`,
    );
  if (w.base) {
    if (m && m.epoch === w.epoch && w.seq < m.seq)
      throw stale(w.shard, `a base at sequence ${w.seq} would move the chain back from ${m.seq}`);
    return;
  }
  if (!head || !m) throw stale(w.shard, "no readable chain to append a delta to; write a base");
  if (known !== head.revision) throw stale(w.shard, "the manifest moved since this writer last saw it; write a base");
  if (w.seq < m.seq) throw stale(w.shard, `a delta at sequence ${w.seq} is behind the chain's ${m.seq}`);
}

export function stale(shard: number, why: string): CheckpointError {
  return new CheckpointError("CHECKPOINT_STALE", shard, `shard ${shard}: ${why}`);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
