import type { Logger } from "pino";
import { parseShardKey } from "../names.js";
import type { CheckpointHeads } from "./checkpoint-heads.js";
import type { CheckpointObjects, StoredObject } from "./checkpoint-objects.js";
import { parsePartName } from "./checkpoint-parts.js";

/** What a collection deleted: part (and version 1) objects, and orphan chunk messages. */
export interface GarbageCollected {
  parts: number;
  chunks: number;
}

/** What {@link collectGarbage} works on. */
export interface GarbageScope {
  /** Only this shard's parts (orphan chunks belong to no shard: they are always collected). */
  shard?: number;
  /** Only what has not changed for this long (server time of its last message) is deleted. */
  graceMs: number;
}

/**
 * Deletes what no checkpoint needs:
 * - part objects of a shard that its manifest does not list (a writer killed before its
 *   manifest update, a compaction killed before deleting the parts it replaced);
 * - a shard's version 1 object once the shard has a manifest;
 * - metadata tombstones;
 * - orphan chunks: chunk subjects no live metadata record names (a put killed midway).
 * A shard whose manifest is unreadable keeps everything (only a new base fixes it).
 * Only what is older than the grace period goes, so a put or a manifest update still
 * in progress is never broken. Chunk subjects are listed before the metadata records,
 * so a put that completes in between is seen as live.
 */
export async function collectGarbage(
  objects: CheckpointObjects,
  heads: CheckpointHeads,
  log: Logger,
  scope: GarbageScope,
): Promise<GarbageCollected> {
  const now = Date.now();
  const chunkNuids = await objects.chunkNuids();
  const live = new Set<string>();
  const gone = new Set<string>();
  const byShard = new Map<number, StoredObject[]>();
  for (const o of await objects.list()) {
    const shard = parsePartName(o.name) ?? parseShardKey(o.name);
    if (shard === undefined || (scope.shard !== undefined && shard !== scope.shard)) {
      if (!o.deleted) live.add(o.nuid);
      continue;
    }
    const list = byShard.get(shard);
    if (list) list.push(o);
    else byShard.set(shard, [o]);
  }

  let parts = 0;
  for (const [shard, objs] of byShard) {
    const head = await heads.get(shard);
    const listed = new Set(head?.manifest?.parts.map((p) => p.name));
    for (const o of objs) {
      const isPart = parsePartName(o.name) !== undefined;
      const garbage =
        o.deleted ||
        (head?.problem === undefined &&
          !listed.has(o.name) &&
          // A version 1 object is the shard's checkpoint until a chain exists.
          (isPart || head?.manifest !== undefined));
      if (!garbage || now - o.storedAt < scope.graceMs) {
        if (!o.deleted) live.add(o.nuid);
        continue;
      }
      await objects.delete(o);
      gone.add(o.nuid);
      parts++;
      log.debug({ shard, object: o.name }, "unreferenced checkpoint object deleted");
    }
  }

  let chunks = 0;
  for (const nuid of chunkNuids) {
    if (live.has(nuid) || gone.has(nuid)) continue;
    const at = await objects.lastChunkAt(nuid);
    if (at === undefined || now - at < scope.graceMs) continue;
    chunks += await objects.purgeChunks(nuid);
    log.debug({ nuid }, "orphan checkpoint chunks purged");
  }
  if (parts > 0 || chunks > 0) log.info({ shard: scope.shard, parts, chunks }, "checkpoint garbage collected");
  return { parts, chunks };
}
