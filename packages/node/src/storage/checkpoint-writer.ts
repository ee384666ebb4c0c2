import type { Logger } from "pino";
import { CheckpointError } from "../errors.js";
import type { CheckpointHeads } from "./checkpoint-heads.js";
import { stale, type Head, type Manifest, type ManifestPart } from "./checkpoint-manifest.js";
import type { CheckpointObjects } from "./checkpoint-objects.js";
import type { CheckpointStep, ResolvedCheckpointsOptions } from "./checkpoint-options.js";
import { packPart, partName, type FlatEntries, type FlatRemovals, type PartHeader } from "./checkpoint-parts.js";
import { v1Name } from "./checkpoint-v1.js";

/** A new part to store. */
export interface NewPart {
  shard: number;
  kind: PartHeader["kind"];
  seq: number;
  epoch: number;
  node: string;
  /** The part before it (a delta's parent), and the chain's sequence it applies on top of. */
  parent?: { name: string; seq: number };
  upserts: FlatEntries;
  removals: FlatRemovals;
}

/**
 * The steps every write and compaction shares, in the order that keeps a chain exact
 * whenever the writer dies: store the part (an immutable object under a fresh name),
 * then move the manifest to it by compare-and-set, then delete what the manifest no
 * longer names. Dying before the manifest update leaves the old chain whole (the part
 * is garbage); dying after leaves the new one whole (the replaced parts are garbage).
 */
export class PartWriter {
  readonly #objects: CheckpointObjects;
  readonly #heads: CheckpointHeads;
  readonly #log: Logger;
  readonly #opts: ResolvedCheckpointsOptions;

  constructor(objects: CheckpointObjects, heads: CheckpointHeads, log: Logger, opts: ResolvedCheckpointsOptions) {
    this.#objects = objects;
    this.#heads = heads;
    this.#log = log;
    this.#opts = opts;
  }

  /** Runs the test hook of a named step, if any. */
  async step(step: CheckpointStep, shard: number, bytes?: number): Promise<void> {
    await this.#opts.onStep?.(step, bytes === undefined ? { shard } : { shard, bytes });
  }

  /** Packs and stores the part (slices with yields); its manifest entry. `CHECKPOINT_INVALID` for malformed entries. */
  async store(p: NewPart): Promise<{ entry: ManifestPart; startedAt: number }> {
    const startedAt = performance.now();
    const name = partName(p.shard, p.kind, p.epoch, p.seq);
    const header: PartHeader = {
      v: 2,
      kind: p.kind,
      shard: p.shard,
      seq: p.seq,
      parentSeq: p.parent?.seq ?? 0,
      parent: p.parent?.name ?? null,
      epoch: p.epoch,
      node: p.node,
      at: Date.now(),
      upserts: p.upserts.length / 4,
      removals: p.removals.length / 3,
    };
    const stored = await this.#objects.put(name, packPart(header, p.upserts, p.removals), (bytes) =>
      this.step("part-frame", p.shard, bytes),
    );
    await this.step("part-stored", p.shard);
    const entry: ManifestPart = {
      name,
      kind: p.kind,
      seq: p.seq,
      upserts: header.upserts,
      removals: header.removals,
      bytes: stored.bytes,
      digest: stored.digest,
    };
    return { entry, startedAt };
  }

  /**
   * Moves the manifest from `revision` to `next`; returns the new revision and the
   * manifest's size. A part that took more than half the garbage grace period to store
   * is abandoned (a collector may already count it as garbage). If the manifest moved,
   * or the write is abandoned, the new part is deleted and `CHECKPOINT_STALE` (or
   * `CHECKPOINT_FENCED`, if a higher epoch moved it) is thrown: nothing changed. Any
   * other error (a timeout) leaves it open whether the manifest moved; the part stays.
   */
  async commit(
    next: Manifest,
    revision: number | undefined,
    stored?: { entry: ManifestPart; startedAt: number },
  ): Promise<{ revision: number; bytes: number }> {
    const shard = next.shard;
    try {
      if (stored && this.#opts.gcGraceMs > 0 && performance.now() - stored.startedAt > this.#opts.gcGraceMs / 2)
        throw stale(shard, "storing the part took more than half the garbage grace period; abandoned");
      return await this.#heads.put(next, revision);
    } catch (err) {
      // Only a refusal proves the manifest does not name the part: after a timeout it
      // may, so the part is left for garbage collection to judge.
      if (!(err instanceof CheckpointError && err.code === "CHECKPOINT_STALE")) throw err;
      if (stored) await this.#deleteQuietly(shard, stored.entry.name);
      const now = await this.#heads.get(shard).catch(() => undefined);
      if (now?.manifest && now.manifest.epoch > next.epoch)
        throw new CheckpointError(
          "CHECKPOINT_FENCED",
          shard,
          `shard ${shard}: checkpoint written at epoch ${now.manifest.epoch} meanwhile, this writer has epoch ${next.epoch}`,
        );
      throw err;
    }
  }

  /**
   * Deletes the parts of `old` that `next` does not name and, when the shard had no
   * readable chain before, its version 1 object. Failures are logged: what is left is
   * garbage that a collection deletes.
   */
  async deleteReplaced(old: Head | undefined, next: Manifest): Promise<void> {
    const keep = new Set(next.parts.map((p) => p.name));
    const names = (old?.manifest?.parts ?? []).map((p) => p.name).filter((n) => !keep.has(n));
    if (!old?.manifest) names.push(v1Name(next.shard));
    for (const name of names) {
      if (await this.#deleteQuietly(next.shard, name)) await this.step("part-deleted", next.shard);
    }
  }

  async #deleteQuietly(shard: number, name: string): Promise<boolean> {
    try {
      const o = await this.#objects.info(name);
      if (!o) return false;
      await this.#objects.delete(o);
      return true;
    } catch (err) {
      this.#log.warn({ err, shard, part: name }, "checkpoint part not deleted; garbage collection will");
      return false;
    }
  }
}
