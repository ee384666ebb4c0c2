import { ErrorCode, TallyError } from "./errors.js";

/**
 * Shard count chosen by `tally init` when none is given.
 * @default 64
 */
export const DEFAULT_SHARDS = 64;

/** Largest shard count Tally accepts. */
export const MAX_SHARDS = 1024;

const FNV_OFFSET = 2166136261;
const FNV_PRIME = 16777619;

/**
 * 32-bit FNV-1a of `bytes`, as an unsigned integer (Go's `hash/fnv.New32a`).
 *
 * @example
 * ```ts
 * fnv1a32(new TextEncoder().encode('a')) // 0xe40c292c
 * ```
 */
export function fnv1a32(bytes: Uint8Array): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < bytes.length; i++) {
    h = Math.imul(h ^ (bytes[i] as number), FNV_PRIME);
  }
  return h >>> 0;
}

/**
 * Continue an FNV-1a hash over the UTF-8 bytes of `s` without materialising them.
 * Lone surrogates hash as U+FFFD, as `TextEncoder` (and so the NATS client) sends them.
 */
function fnvString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = c <= 0xdbff && i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        h = Math.imul(h ^ (0xf0 | (cp >> 18)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((cp >> 12) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((cp >> 6) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | (cp & 0x3f)), FNV_PRIME);
        continue;
      }
      c = 0xfffd;
    }
    h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
  }
  return h;
}

/**
 * The shard of counter `ns`/`name` among `shards` shards: FNV-1a-32 over the UTF-8 bytes of
 * `ns` immediately followed by those of `name` (no separator), modulo `shards`.
 *
 * This is exactly nats-server's `{{partition(P,1,2)}}` subject-mapping function applied to
 * `count.<ns>.<name>`, which is what routes events to `tally.ev.<shard>.…`, so the node and
 * the server always agree. Does not allocate. `shards` must satisfy {@link assertShardCount}.
 */
export function shardOf(ns: string, name: string, shards: number): number {
  return (fnvString(fnvString(FNV_OFFSET, ns), name) >>> 0) % shards;
}

/**
 * Throw a `TallyError` (`BAD_CONFIG`) unless `p` is an integer shard count in 1..{@link MAX_SHARDS}.
 */
export function assertShardCount(p: number): void {
  if (!Number.isInteger(p) || p < 1 || p > MAX_SHARDS) {
    throw new TallyError(
      ErrorCode.BAD_CONFIG,
      `shard count must be an integer from 1 to ${MAX_SHARDS}, got ${String(p)}`,
    );
  }
}
