import test from "ava";
import fc from "fast-check";
import { encodeFrame, FrameReader } from "../src/storage/checkpoint-frames.js";
import {
  decodePart,
  ENTRIES_PER_FRAME,
  flatProblem,
  packPart,
  parsePartName,
  partName,
  readPartHeader,
  type FlatEntries,
  type FlatRemovals,
  type PartHeader,
} from "../src/storage/checkpoint-parts.js";
import type { CheckpointError } from "../src/errors.js";

function header(upserts: FlatEntries, removals: FlatRemovals, over: Partial<PartHeader> = {}): PartHeader {
  return {
    v: 2,
    kind: "delta",
    shard: 3,
    seq: 20,
    parentSeq: 10,
    parent: "shard-3/1-10-aa-base",
    epoch: 1,
    node: "n",
    at: 0,
    upserts: upserts.length / 4,
    removals: removals.length / 3,
    ...over,
  };
}

async function packed(h: PartHeader, upserts: FlatEntries, removals: FlatRemovals): Promise<Buffer> {
  const frames: Uint8Array[] = [];
  for await (const f of packPart(h, upserts, removals)) frames.push(f);
  return Buffer.concat(frames);
}

async function decoded(body: Uint8Array): Promise<{ h: PartHeader; u: FlatEntries[]; r: FlatRemovals[] }> {
  const { header: h, frames } = readPartHeader(body);
  const u: FlatEntries[] = [];
  const r: FlatRemovals[] = [];
  await decodePart(
    h,
    frames,
    (f) => u.push(f),
    (f) => r.push(f),
  );
  return { h, u, r };
}

const entry = fc.tuple(
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.nat(),
  fc.maxSafeInteger(),
);
const removal = fc.tuple(
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.nat(),
);

test("checkpoint frames - frames read back in order; a truncated body throws", (t) => {
  const body = Buffer.concat([encodeFrame({ a: 1 }), encodeFrame([1, "x"]), encodeFrame("end")]);
  const r = new FrameReader(body);
  t.deepEqual(r.next(), { a: 1 });
  t.deepEqual(r.next(), [1, "x"]);
  t.is(r.next(), "end");
  t.true(r.done);
  t.is(r.next(), undefined);
  const cut = new FrameReader(body.subarray(0, body.length - 2));
  cut.next();
  cut.next();
  t.throws(() => cut.next(), { message: /truncated/ });
  t.throws(() => new FrameReader(body.subarray(0, 2)).next(), { message: /truncated/ });
});

test("checkpoint parts - any entries and removals round-trip exactly through pack and decode", async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(entry, { maxLength: 50 }), fc.array(removal, { maxLength: 20 }), async (es, rs) => {
      const upserts = es.flat();
      const removals = rs.flat();
      const h = header(upserts, removals);
      const { h: back, u, r } = await decoded(await packed(h, upserts, removals));
      t.deepEqual(back, h);
      t.deepEqual(u.flat(), upserts);
      t.deepEqual(r.flat(), removals);
    }),
    { numRuns: 50 },
  );
});

test("checkpoint parts - a large part is packed and delivered in slices of at most one frame of entries", async (t) => {
  const n = ENTRIES_PER_FRAME * 2 + 5;
  const upserts: FlatEntries = [];
  for (let i = 0; i < n; i++) upserts.push("ns", `c${i}`, i % 7, i);
  const { u } = await decoded(await packed(header(upserts, []), upserts, []));
  t.deepEqual(
    u.map((f) => f.length / 4),
    [ENTRIES_PER_FRAME, ENTRIES_PER_FRAME, 5],
  );
  t.deepEqual(u.flat(), upserts);
});

test("checkpoint parts - counts that differ from the header, a bad header or a bad frame are refused", async (t) => {
  const upserts: FlatEntries = ["ns", "a", 0, 1, "ns", "b", 0, 2];
  const lying = await packed(header(upserts, [], { upserts: 3 }), upserts, []);
  await t.throwsAsync(() => decoded(lying), { message: /declares 3/ });
  const over = await packed(header(upserts, [], { upserts: 1 }), upserts, []);
  await t.throwsAsync(() => decoded(over), { message: /more upserts/ });
  t.throws(() => readPartHeader(encodeFrame({ v: 1 })), { message: /header/ });
  const junk = Buffer.concat([encodeFrame(header([], [])), encodeFrame({ x: [] })]);
  await t.throwsAsync(() => decoded(junk), { message: /unknown frame/ });
  const badValue = Buffer.concat([encodeFrame(header(["ns", "a", 0, 1], [])), encodeFrame({ u: ["ns", "a", 0, "1"] })]);
  await t.throwsAsync(() => decoded(badValue), { message: /bad value/ });
});

test("checkpoint parts - malformed entries are refused while packing with CHECKPOINT_INVALID", async (t) => {
  const bad: FlatEntries = ["ns", "a", -1, 1];
  const err = await t.throwsAsync(() => packed(header(bad, []), bad, []));
  t.is((err as CheckpointError).code, "CHECKPOINT_INVALID");
  t.is(flatProblem(["ns", "a", 0], 4), "3 items is not a multiple of 4");
  t.regex(flatProblem(["ns", 1, 0, 1], 4)!, /not strings/);
  t.regex(flatProblem(["ns", "a", 0, 2 ** 53], 4)!, /bad value/);
  t.is(flatProblem(["ns", "a", 5], 3), undefined);
});

test("checkpoint parts - names are unique per part and tell their shard", (t) => {
  const a = partName(12, "base", 7, 100);
  const b = partName(12, "base", 7, 100);
  t.not(a, b);
  t.is(parsePartName(a), 12);
  t.is(parsePartName(partName(0, "delta", 1, 2)), 0);
  t.is(parsePartName("shard-12"), undefined);
  t.is(parsePartName("shard-12/x"), undefined);
});

test("a part hands out its removals before its upserts: a bucket removed and counted again in one delta is kept", async (t) => {
  const upserts: FlatEntries = ["web", "home", 74, 2];
  const removals: FlatRemovals = ["web", "home", 74];
  const { header: h, frames } = readPartHeader(await packed(header(upserts, removals), upserts, removals));
  const state = new Map<string, number>([["web/home/74", 5]]);
  await decodePart(
    h,
    frames,
    (u) => {
      for (let i = 0; i < u.length; i += 4)
        state.set(`${String(u[i])}/${String(u[i + 1])}/${String(u[i + 2])}`, u[i + 3] as number);
    },
    (r) => {
      for (let i = 0; i < r.length; i += 3) state.delete(`${String(r[i])}/${String(r[i + 1])}/${String(r[i + 2])}`);
    },
  );
  t.deepEqual([...state], [["web/home/74", 2]]);
});
