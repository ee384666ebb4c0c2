import test from "ava";
import type { CheckpointError } from "../src/errors.js";
import {
  chainInfo,
  chainNeedsCompaction,
  checkWrite,
  encodeManifest,
  parseManifest,
  partMismatch,
  type Head,
  type Manifest,
} from "../src/storage/checkpoint-manifest.js";
import type { PartHeader } from "../src/storage/checkpoint-parts.js";

const manifest: Manifest = {
  v: 2,
  shard: 4,
  seq: 35,
  epoch: 9,
  node: "a",
  at: 0,
  parts: [
    { name: "shard-4/9-10-aa-base", kind: "base", seq: 10, upserts: 100, removals: 0, bytes: 1000, digest: "d0" },
    { name: "shard-4/9-20-bb-delta", kind: "delta", seq: 20, upserts: 5, removals: 1, bytes: 120, digest: "d1" },
    { name: "shard-4/9-30-cc-delta", kind: "delta", seq: 30, upserts: 7, removals: 0, bytes: 150, digest: "d2" },
  ],
};

function headerOf(i: number, over: Partial<PartHeader> = {}): PartHeader {
  const p = manifest.parts[i]!;
  return {
    v: 2,
    kind: p.kind,
    shard: 4,
    seq: p.seq,
    parentSeq: i === 0 ? 0 : manifest.parts[i - 1]!.seq,
    parent: i === 0 ? null : manifest.parts[i - 1]!.name,
    epoch: 9,
    node: "a",
    at: 0,
    upserts: p.upserts,
    removals: p.removals,
    ...over,
  };
}

const code = (f: () => void) => {
  try {
    f();
    return undefined;
  } catch (err) {
    return (err as CheckpointError).code;
  }
};

test("checkpoint manifest - encodes and parses back; refuses unsound ones", (t) => {
  t.deepEqual(parseManifest(4, encodeManifest(manifest)), manifest);
  t.throws(() => parseManifest(5, encodeManifest(manifest)), { message: /shard 4 stored for shard 5/ });
  t.throws(() => parseManifest(4, encodeManifest({ ...manifest, parts: [] })), { message: /no parts/ });
  const deltaFirst = { ...manifest, parts: manifest.parts.slice(1) };
  t.throws(() => parseManifest(4, encodeManifest(deltaFirst)), { message: /part 0 is malformed/ });
  const backwards = { ...manifest, parts: [manifest.parts[0]!, manifest.parts[2]!, manifest.parts[1]!] };
  t.throws(() => parseManifest(4, encodeManifest(backwards)), { message: /back in sequence/ });
  t.throws(() => parseManifest(4, encodeManifest({ ...manifest, seq: 25 })), { message: /behind its last part/ });
  t.throws(() => parseManifest(4, new TextEncoder().encode('{"v":1}')), { message: /version 2/ });
});

test("checkpoint manifest - a part must be exactly what the manifest lists, linked to the part before it", (t) => {
  t.is(partMismatch(manifest, 0, headerOf(0), 1000, "d0"), undefined);
  t.is(partMismatch(manifest, 2, headerOf(2), 150, "d2"), undefined);
  t.regex(partMismatch(manifest, 1, headerOf(1), 121, "d1")!, /size or digest/);
  t.regex(partMismatch(manifest, 1, headerOf(1), 120, "dx")!, /size or digest/);
  t.regex(partMismatch(manifest, 1, headerOf(1, { shard: 5 }), 120, "d1")!, /shard 5/);
  t.regex(partMismatch(manifest, 1, headerOf(1, { seq: 21 }), 120, "d1")!, /sequence differs/);
  t.regex(partMismatch(manifest, 1, headerOf(1, { upserts: 6 }), 120, "d1")!, /entry counts/);
  t.regex(
    partMismatch(manifest, 2, headerOf(2, { parent: manifest.parts[0]!.name }), 150, "d2")!,
    /not the part before/,
  );
  t.regex(partMismatch(manifest, 2, headerOf(2, { parentSeq: 15 }), 150, "d2")!, /parent sequence/);
  t.regex(partMismatch(manifest, 0, headerOf(0, { parent: "x" }), 1000, "d0")!, /base with a parent/);
});

test("checkpoint manifest - chain summary and when to compact", (t) => {
  const info = chainInfo(manifest);
  t.deepEqual(info, { seq: 35, epoch: 9, node: "a", parts: 3, baseBytes: 1000, chainBytes: 270 });
  t.false(chainNeedsCompaction(info, 16, 1));
  t.true(chainNeedsCompaction(info, 2, 1), "too many parts");
  t.true(chainNeedsCompaction(info, 16, 0.25), "deltas outweigh a quarter of the base");
});

test("checkpoint manifest - fenced and stale writes are refused; bases of the owner go through", (t) => {
  const head: Head = { revision: 50, manifest };
  const w = { shard: 4, seq: 40, epoch: 9, base: false };
  t.is(
    code(() => checkWrite(head, w, 50)),
    undefined,
  );
  t.is(
    code(() => checkWrite(head, { ...w, epoch: 8 }, 50)),
    "CHECKPOINT_FENCED",
  );
  t.is(
    code(() => checkWrite(head, { ...w, epoch: 8, base: true }, 50)),
    "CHECKPOINT_FENCED",
  );
  t.is(
    code(() => checkWrite(head, w, 49)),
    "CHECKPOINT_STALE",
    "the manifest moved since",
  );
  t.is(
    code(() => checkWrite(head, w, undefined)),
    "CHECKPOINT_STALE",
    "never seen",
  );
  t.is(
    code(() => checkWrite(undefined, w, undefined)),
    "CHECKPOINT_STALE",
    "no chain",
  );
  t.is(
    code(() => checkWrite({ revision: 50, problem: "x" }, w, 50)),
    "CHECKPOINT_STALE",
    "unreadable chain",
  );
  t.is(
    code(() => checkWrite(head, { ...w, seq: 30 }, 50)),
    "CHECKPOINT_STALE",
    "behind",
  );
  t.is(
    code(() => checkWrite(head, { ...w, epoch: 10 }, 50)),
    undefined,
    "a new owner that read the chain",
  );
  // Bases need no view of the chain.
  t.is(
    code(() => checkWrite(undefined, { ...w, base: true }, undefined)),
    undefined,
  );
  t.is(
    code(() => checkWrite({ revision: 50, problem: "x" }, { ...w, base: true }, undefined)),
    undefined,
  );
  t.is(
    code(() => checkWrite(head, { ...w, seq: 30, base: true }, undefined)),
    "CHECKPOINT_STALE",
    "same owner going back",
  );
  t.is(
    code(() => checkWrite(head, { ...w, seq: 30, epoch: 10, base: true }, undefined)),
    undefined,
    "a new owner may",
  );
});
