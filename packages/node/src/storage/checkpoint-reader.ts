import type { Logger } from "pino";
import { loadChain, type LoadedPart } from "./checkpoint-chain.js";
import type { CheckpointHeads } from "./checkpoint-heads.js";
import type { ChainInfo, Head } from "./checkpoint-manifest.js";
import type { CheckpointObjects } from "./checkpoint-objects.js";
import { readV1, type V1Checkpoint } from "./checkpoint-v1.js";

/**
 * Fetching a shard's checkpoint for a read or a compaction: the chain a manifest names,
 * verified, or the version 1 object; problems are logged here, once.
 */
export class ChainReader {
  readonly #objects: CheckpointObjects;
  readonly #heads: CheckpointHeads;
  readonly #log: Logger;
  readonly #step: (shard: number) => Promise<void>;

  /** `beforeFetch` runs once the manifest is known, before its parts are fetched (a test hook). */
  constructor(
    objects: CheckpointObjects,
    heads: CheckpointHeads,
    log: Logger,
    beforeFetch: (shard: number) => Promise<void>,
  ) {
    this.#objects = objects;
    this.#heads = heads;
    this.#log = log;
    this.#step = beforeFetch;
  }

  /**
   * The verified parts of the chain `h` names; "moved" if one vanished because the
   * manifest moved meanwhile (read it again); undefined (logged) if the chain is unusable.
   */
  async load(shard: number, h: Head): Promise<LoadedPart[] | "moved" | undefined> {
    if (!h.manifest) {
      this.#log.error({ shard, problem: h.problem }, "checkpoint manifest unreadable; not used");
      return undefined;
    }
    await this.#step(shard);
    const load = await loadChain(this.#objects, h.manifest);
    if (load.status === "loaded") return load.parts;
    if (load.status === "missing") {
      const now = await this.#heads.get(shard);
      if (now?.revision !== h.revision) return "moved";
      this.#log.error({ shard, part: load.part }, "checkpoint part missing; chain not used");
      return undefined;
    }
    this.#log.error(
      { shard, part: load.part, reason: load.reason },
      "checkpoint part fails verification; chain not used",
    );
    return undefined;
  }

  /** The shard's version 1 checkpoint; undefined (logged if corrupt) if none is usable. */
  async readV1(shard: number): Promise<V1Checkpoint | undefined> {
    try {
      return await readV1(this.#objects, shard);
    } catch (err) {
      this.#log.error({ err, shard }, "version 1 checkpoint unusable; not used");
      return undefined;
    }
  }
}

/** A version 1 checkpoint summarised as a one-part chain. */
export function v1Info(v1: V1Checkpoint): ChainInfo {
  return { seq: v1.seq, epoch: v1.epoch, node: v1.node, parts: 1, baseBytes: v1.bytes, chainBytes: 0 };
}
