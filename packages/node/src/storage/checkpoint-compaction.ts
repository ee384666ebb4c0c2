import { CheckpointError } from "../errors.js";
import { deliverChain } from "./checkpoint-chain.js";
import type { CheckpointHeads } from "./checkpoint-heads.js";
import { chainInfo, checkWrite, stale, type ChainInfo, type Head, type Manifest } from "./checkpoint-manifest.js";
import { EntryMap } from "./checkpoint-merge.js";
import type { ChainReader } from "./checkpoint-reader.js";
import type { PartWriter } from "./checkpoint-writer.js";

/** How often a compaction starts over when the manifest moved under it. */
const ATTEMPTS = 5;

/** What a compaction works with. */
export interface CompactionContext {
  heads: CheckpointHeads;
  reader: ChainReader;
  writer: PartWriter;
}

/** Who compacts which shard, and what it drops. */
export interface Compaction {
  shard: number;
  epoch: number;
  node: string;
  drop?: ((key: number) => boolean) | undefined;
}

/**
 * Rewrites a shard's chain (or its version 1 object) as one base at the chain's seq,
 * from the stored parts, without removed entries and those `drop` rejects; then moves
 * the manifest by compare-and-set and deletes what it replaced. `followed` is the
 * manifest revision the caller's writer had seen: the result says the revision it may
 * follow now (undefined: none). A chain of one part is left alone unless `drop` is given.
 */
export async function compactChain(
  ctx: CompactionContext,
  c: Compaction,
  followed: number | undefined,
): Promise<ChainInfo & { bytesWritten: number; follow?: number }> {
  const { shard, epoch, node, drop } = c;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const h = await ctx.heads.get(shard);
    const loaded = await loadState(ctx, shard, epoch, h, drop !== undefined);
    if (loaded === "moved") continue;
    if ("info" in loaded) return { ...loaded.info, bytesWritten: 0 };
    const stored = await ctx.writer.store({
      shard,
      kind: "base",
      seq: loaded.seq,
      epoch,
      node,
      upserts: await loaded.state.toFlat(drop),
      removals: [],
    });
    const next: Manifest = {
      v: 2,
      shard,
      seq: loaded.seq,
      epoch: Math.max(epoch, h?.manifest?.epoch ?? 0),
      node,
      at: Date.now(),
      parts: [stored.entry],
    };
    const written = await ctx.writer.commit(next, h?.revision, stored);
    await ctx.writer.step("manifest-updated", shard);
    await ctx.writer.deleteReplaced(h, next);
    return {
      ...chainInfo(next),
      bytesWritten: stored.entry.bytes + written.bytes,
      ...(h && followed === h.revision ? { follow: written.revision } : {}),
    };
  }
  throw stale(shard, "the chain kept changing while being compacted");
}

/**
 * The state of the chain `h` names (or of the version 1 object when there is none),
 * replayed from its verified parts; `info` when there is nothing to rewrite.
 */
async function loadState(
  ctx: CompactionContext,
  shard: number,
  epoch: number,
  h: Head | undefined,
  dropping: boolean,
): Promise<{ state: EntryMap; seq: number } | { info: ChainInfo } | "moved"> {
  const state = new EntryMap();
  if (!h) {
    const v1 = await ctx.reader.readV1(shard);
    if (!v1)
      throw new CheckpointError("CHECKPOINT_MISSING", shard, `shard ${shard} has no usable checkpoint to compact`);
    state.upsert(v1.entries);
    return { state, seq: v1.seq };
  }
  if (h.manifest && h.manifest.epoch > epoch) checkWrite(h, { shard, seq: 0, epoch, base: true }, undefined);
  if (h.manifest?.parts.length === 1 && !dropping) return { info: chainInfo(h.manifest) };
  const parts = await ctx.reader.load(shard, h);
  if (parts === "moved") return "moved";
  if (!parts) throw new CheckpointError("CHECKPOINT_CORRUPT", shard, `shard ${shard}: checkpoint chain unusable`);
  try {
    await deliverChain(
      parts,
      (f) => state.upsert(f),
      (f) => state.remove(f),
    );
  } catch (err) {
    throw new CheckpointError("CHECKPOINT_CORRUPT", shard, `shard ${shard}: checkpoint part does not decode`, {
      cause: err,
    });
  }
  return { state, seq: h.manifest!.seq };
}
