import test from "ava";
import fc from "fast-check";
import { DEFAULT_SHARDS, ErrorCode, MAX_SHARDS, TallyError, assertShardCount, fnv1a32, shardOf } from "../src/index.js";

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

// Published FNV-1a 32-bit test vectors (Fowler/Noll/Vo, "FNV test suite").
const VECTORS: [string, number][] = [
  ["", 0x811c9dc5],
  ["a", 0xe40c292c],
  ["b", 0xe70c2de5],
  ["c", 0xe60c2c52],
  ["foo", 0xa9f37ed7],
  ["foob", 0x3f5076ef],
  ["fooba", 0x39aaa18a],
  ["foobar", 0xbf9cf968],
];

test("fnv1a32 - matches the published FNV-1a vectors", (t) => {
  for (const [s, h] of VECTORS) t.is(fnv1a32(utf8(s)), h, JSON.stringify(s));
});

test("fnv1a32 - result is an unsigned 32-bit integer", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const h = fnv1a32(bytes);
        return Number.isInteger(h) && h >= 0 && h <= 0xffffffff;
      }),
    ),
  );
});

test("shardOf - hashes ns and name concatenated, without separator", (t) => {
  t.is(shardOf("foo", "bar", 0x7fffffff), 0xbf9cf968 % 0x7fffffff);
  t.is(shardOf("", "foobar", 1000), 0xbf9cf968 % 1000);
  t.is(shardOf("fo", "obar", 64), shardOf("foob", "ar", 64));
});

// Any UTF-16 string, lone surrogates included: the fast path must agree with TextEncoder.
const anyUtf16 = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});

test("shardOf - equals fnv1a32 of the UTF-8 bytes of ns then name, mod shards, for any strings", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: "binary" }), anyUtf16),
        fc.oneof(fc.string(), fc.string({ unit: "binary" }), anyUtf16),
        fc.integer({ min: 1, max: MAX_SHARDS }),
        (ns, name, p) => {
          const s = shardOf(ns, name, p);
          // Each token's own UTF-8 bytes, one after the other: a namespace ending in a lone high
          // surrogate and a name starting with a lone low one are not a pair (utf8(ns + name) would make one).
          return s === fnv1a32(new Uint8Array([...utf8(ns), ...utf8(name)])) % p && s >= 0 && s < p;
        },
      ),
      { numRuns: 2000 },
    ),
  );
  // The counterexample of a run with the former oracle (which hashed utf8(ns + name)).
  t.is(shardOf("\ud800", "\udc00", 10), fnv1a32(new Uint8Array([...utf8("\ud800"), ...utf8("\udc00")])) % 10);
});

test("shardOf - spreads keys over all shards", (t) => {
  const counts = new Array<number>(DEFAULT_SHARDS).fill(0);
  for (let i = 0; i < 64_000; i++) counts[shardOf("web", `page-${i}`, DEFAULT_SHARDS)]! += 1;
  // Expect 1000 per shard; a fair hash stays well within ±25 %.
  for (const c of counts) t.true(c > 750 && c < 1250, String(c));
});

test("assertShardCount - accepts 1..1024 and rejects anything else", (t) => {
  t.is(DEFAULT_SHARDS, 64);
  t.is(MAX_SHARDS, 1024);
  for (const ok of [1, 2, 64, 1024]) t.notThrows(() => assertShardCount(ok));
  for (const bad of [0, -1, 1025, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    const e = t.throws(() => assertShardCount(bad), { instanceOf: TallyError });
    t.is(e?.code, ErrorCode.BAD_CONFIG);
  }
});
