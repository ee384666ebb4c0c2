import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { CheckpointError } from "../errors.js";
import { deliverChain } from "./checkpoint-chain.js";
import { compactChain } from "./checkpoint-compaction.js";
import { yieldToEventLoop } from "./checkpoint-frames.js";
import { collectGarbage, type GarbageCollected } from "./checkpoint-gc.js";
import { CheckpointHeads } from "./checkpoint-heads.js";
import { chainInfo, chainNeedsCompaction, checkWrite, type ChainInfo, type Manifest } from "./checkpoint-manifest.js";
import { CheckpointObjects } from "./checkpoint-objects.js";
import {
  resolveCheckpointsOptions,
  type CheckpointsOptions,
  type ResolvedCheckpointsOptions,
} from "./checkpoint-options.js";
import {
  ENTRIES_PER_FRAME,
  REMOVAL_WIDTH,
  UPSERT_WIDTH,
  type FlatEntries,
  type FlatRemovals,
} from "./checkpoint-parts.js";
import { ChainReader, v1Info } from "./checkpoint-reader.js";
import { v1Name } from "./checkpoint-v1.js";
import { PartWriter } from "./checkpoint-writer.js";

export type { ChainInfo } from "./checkpoint-manifest.js";
export type { CheckpointsOptions, CheckpointStep } from "./checkpoint-options.js";
export type { FlatEntries, FlatRemovals } from "./checkpoint-parts.js";

/** One part handed to {@link Checkpoints.write}. */
export interface CheckpointPart {
  shard: number;
  /** Every event of the shard with stream sequence <= seq is reflected. */
  seq: number;
  /** Lease epoch of the writer (fencing). */
  epoch: number;
  /** Writer node id. */
  node: string;
  /** Entries changed since the previous part (for a base: every entry). */
  upserts: FlatEntries;
  /** Entries removed since the previous part (empty for a base). */
  removals: FlatRemovals;
}

/** How often a read starts over when the manifest moved under it. */
const ATTEMPTS = 5;

/**
 * Shared checkpoints, any node can restore any shard from them. Each shard has a chain
 * in the `tally_checkpoints` object store, a base then deltas (immutable parts, each a
 * sequence of msgpack frames), listed in order by the shard's manifest in the
 * `tally_checkpoint_heads` KV bucket, which only moves by compare-and-set. So a
 * checkpoint costs what changed, a reader sees one consistent chain, a fenced or stale
 * writer changes nothing, and a writer killed at any point leaves either the old chain
 * or the new one whole plus garbage that {@link collectGarbage} deletes. A shard with
 * no manifest but a version 1 object (`shard-<n>`, the whole state) restores from it.
 */
export class Checkpoints {
  readonly #objects: CheckpointObjects;
  readonly #heads: CheckpointHeads;
  readonly #reader: ChainReader;
  readonly #writer: PartWriter;
  readonly #log: Logger;
  readonly #opts: ResolvedCheckpointsOptions;
  /** Per shard, the manifest revision this instance last read or wrote: a delta may only follow it. */
  readonly #seen = new Map<number, number>();
  /** Per shard, a version 1 checkpoint's summary by object nuid, so `head` downloads it once. */
  readonly #v1Heads = new Map<number, { nuid: string; info: ChainInfo }>();

  private constructor(
    objects: CheckpointObjects,
    heads: CheckpointHeads,
    log: Logger,
    opts: ResolvedCheckpointsOptions,
  ) {
    this.#objects = objects;
    this.#heads = heads;
    this.#log = log;
    this.#opts = opts;
    this.#writer = new PartWriter(objects, heads, log, opts);
    this.#reader = new ChainReader(objects, heads, log, (shard) => this.#writer.step("manifest-read", shard));
  }

  /** Opens the object store and the manifest bucket (`NOT_INITIALIZED` if `tally init` did not create them). */
  static async open(nc: NatsConnection, log: Logger, opts: CheckpointsOptions = {}): Promise<Checkpoints> {
    const resolved = resolveCheckpointsOptions(opts);
    return new Checkpoints(await CheckpointObjects.open(nc), await CheckpointHeads.open(nc), log, resolved);
  }

  /**
   * Cheap: the shard's manifest only (seq etc.), or undefined. Used to decide whether to
   * download at all. A shard with only a version 1 object downloads it once (its
   * sequence is inside), then answers from memory.
   */
  async head(shard: number): Promise<ChainInfo | undefined> {
    const h = await this.#heads.get(shard);
    if (h?.manifest) return chainInfo(h.manifest);
    if (h) {
      this.#log.error({ shard, problem: h.problem }, "checkpoint manifest unreadable; not used");
      return undefined;
    }
    const o = await this.#objects.info(v1Name(shard));
    if (!o || o.deleted) return undefined;
    const cached = this.#v1Heads.get(shard);
    if (cached?.nuid === o.nuid) return cached.info;
    const v1 = await this.#reader.readV1(shard);
    if (!v1) return undefined;
    const info = v1Info(v1);
    this.#v1Heads.set(shard, { nuid: v1.object.nuid, info });
    return info;
  }

  /**
   * Loads the shard's chain: base then each delta in order. Every part is fetched and
   * verified (size and SHA-256 against the manifest; header: shard, kind, sequence,
   * declared entry counts, parent link) BEFORE anything is delivered; then the parts are
   * decoded one frame (at most 8192 entries) at a time, each slice handed to
   * onUpserts/onRemovals with a yield to the event loop between slices.
   *
   * Returns undefined when there is no checkpoint, or when a part is missing or fails
   * verification (logged at error level; fall back to the local snapshot or a replay).
   * A part that vanished because the manifest moved means reading the new manifest
   * (at most 5 attempts). Should a verified part still fail to decode midway (a writer
   * bug: its digest matched), slices were delivered already: it throws a
   * `CheckpointError` `CHECKPOINT_CORRUPT` and the caller must discard what it loaded.
   *
   * After a read from a chain, this instance may append deltas to it (see `write`);
   * not after a read from a version 1 object: write a base first.
   */
  async read(
    shard: number,
    onUpserts: (flat: FlatEntries) => void,
    onRemovals: (flat: FlatRemovals) => void,
  ): Promise<ChainInfo | undefined> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const h = await this.#heads.get(shard);
      if (!h) {
        const v1 = await this.#reader.readV1(shard);
        if (!v1) {
          // Gone because a first chain replaced it meanwhile? Then read that.
          if (await this.#heads.get(shard)) continue;
          return undefined;
        }
        for (let i = 0; i < v1.entries.length; i += ENTRIES_PER_FRAME * UPSERT_WIDTH) {
          onUpserts(v1.entries.slice(i, i + ENTRIES_PER_FRAME * UPSERT_WIDTH));
          await yieldToEventLoop();
        }
        return v1Info(v1);
      }
      const parts = await this.#reader.load(shard, h);
      if (parts === "moved") continue;
      if (!parts) return undefined;
      try {
        await deliverChain(parts, onUpserts, onRemovals);
      } catch (err) {
        this.#log.error({ err, shard }, "shared checkpoint part does not decode; discard what was loaded");
        throw new CheckpointError("CHECKPOINT_CORRUPT", shard, `shard ${shard}: checkpoint part does not decode`, {
          cause: err,
        });
      }
      this.#seen.set(shard, h.revision);
      return chainInfo(h.manifest!);
    }
    this.#log.error({ shard }, "shared checkpoint kept changing while being read; not used");
    return undefined;
  }

  /**
   * Writes one part. `base: true` starts a new chain (send every entry, no removals) and
   * then deletes the chain it replaced; otherwise appends a delta: every entry changed
   * or removed since the chain's state this instance last read or wrote. An empty delta
   * only moves the manifest's seq (no part object). Packing happens in slices that
   * yield. The manifest is updated with compare-and-set: a writer with a lower epoch
   * than the manifest's fails with `CHECKPOINT_FENCED`; a delta onto a manifest that
   * moved since this instance last saw it (or onto none, or behind its seq) fails with
   * `CHECKPOINT_STALE` (write a base next); either way nothing changed. `bytesWritten`
   * counts the part and the manifest.
   */
  async write(part: CheckpointPart, opts: { base?: boolean } = {}): Promise<ChainInfo & { bytesWritten: number }> {
    const base = opts.base === true;
    const { shard, seq, epoch, node, upserts, removals } = part;
    assertPart(part, base);
    const h = await this.#heads.get(shard);
    checkWrite(h, { shard, seq, epoch, base }, this.#seen.get(shard));
    const m = h?.manifest;
    const at = Date.now();
    if (!base && upserts.length === 0 && removals.length === 0) {
      const next: Manifest = { ...m!, seq, epoch, node, at };
      const written = await this.#writer.commit(next, h!.revision);
      this.#seen.set(shard, written.revision);
      return { ...chainInfo(next), bytesWritten: written.bytes };
    }
    const last = m?.parts.at(-1);
    const stored = await this.#writer.store({
      shard,
      kind: base ? "base" : "delta",
      seq,
      epoch,
      node,
      ...(base || !last ? {} : { parent: { name: last.name, seq: m!.seq } }),
      upserts,
      removals,
    });
    const next: Manifest = {
      v: 2,
      shard,
      seq,
      epoch,
      node,
      at,
      parts: base ? [stored.entry] : [...m!.parts, stored.entry],
    };
    const written = await this.#writer.commit(next, h?.revision, stored);
    this.#seen.set(shard, written.revision);
    await this.#writer.step("manifest-updated", shard);
    if (base) await this.#writer.deleteReplaced(h, next);
    return { ...chainInfo(next), bytesWritten: stored.entry.bytes + written.bytes };
  }

  /** Whether the chain should be compacted now: more parts than `maxParts`, or deltas over `compactRatio` × base. */
  needsCompaction(info: ChainInfo): boolean {
    return chainNeedsCompaction(info, this.#opts.maxParts, this.#opts.compactRatio);
  }

  /**
   * Rewrites the chain into a single base at the chain's seq, from the stored parts
   * themselves (a consistent cut, not memory), dropping removed entries and every entry
   * whose key `drop` rejects; CAS-updates the manifest, then deletes the old parts (and
   * a version 1 object, which a compaction turns into a chain). Decoding, merging and
   * packing go in slices that yield. Killed at any point, the old chain or the new base
   * is whole. `CHECKPOINT_MISSING` if there is no checkpoint, `CHECKPOINT_CORRUPT` if a
   * part fails verification (write a base from memory instead), `CHECKPOINT_FENCED` /
   * `CHECKPOINT_STALE` as for `write`. If this instance was following the chain, it may
   * keep appending deltas to the compacted one; `drop` must then only reject entries
   * the caller has dropped (or will remove) itself.
   */
  async compact(
    shard: number,
    epoch: number,
    node: string,
    drop?: (key: number) => boolean,
  ): Promise<ChainInfo & { bytesWritten: number }> {
    const ctx = { heads: this.#heads, reader: this.#reader, writer: this.#writer };
    const { follow, ...result } = await compactChain(ctx, { shard, epoch, node, drop }, this.#seen.get(shard));
    if (follow !== undefined) this.#seen.set(shard, follow);
    return result;
  }

  /**
   * Deletes parts of this shard (all shards if omitted) that no manifest references, a
   * version 1 object once its shard has a chain, and orphan chunks of any object; only
   * what has been unchanged for the grace period (`gcGraceMs`, or `graceMs` here), so a
   * put in progress is never broken. Returns what was deleted.
   */
  collectGarbage(shard?: number, opts: { graceMs?: number } = {}): Promise<GarbageCollected> {
    return collectGarbage(this.#objects, this.#heads, this.#log, {
      ...(shard === undefined ? {} : { shard }),
      graceMs: opts.graceMs ?? this.#opts.gcGraceMs,
    });
  }
}

/** `CHECKPOINT_INVALID` for a part whose fields or flat arrays are malformed (entries are checked while packing). */
function assertPart(p: CheckpointPart, base: boolean): void {
  const why =
    !Number.isSafeInteger(p.shard) || p.shard < 0
      ? "bad shard"
      : !Number.isSafeInteger(p.seq) || p.seq < 0
        ? "bad seq"
        : !Number.isSafeInteger(p.epoch) || p.epoch < 0
          ? "bad epoch"
          : typeof p.node !== "string"
            ? "bad node"
            : p.upserts.length % UPSERT_WIDTH !== 0 || p.removals.length % REMOVAL_WIDTH !== 0
              ? "flat arrays of the wrong length"
              : base && p.removals.length > 0
                ? "a base has no removals"
                : undefined;
  if (why) throw new CheckpointError("CHECKPOINT_INVALID", p.shard, `shard ${p.shard}: ${why}`);
}
