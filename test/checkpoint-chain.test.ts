import test, { type ExecutionContext } from "ava";
import { Objm } from "@nats-io/obj";
import { pack } from "msgpackr";
import { pino } from "pino";
import { CHECKPOINTS_BUCKET } from "@tally/node";
import { Checkpoints, type CheckpointsOptions } from "../packages/node/src/storage/checkpoints.js";
import type { CheckpointError } from "../packages/node/src/errors.js";
import { tallyServer } from "./helpers/cluster.js";
import {
  baseState,
  change,
  EXPIRED_KEY,
  flatOf,
  manifestOf,
  readState,
  shardObjects,
  stateDiff,
  storeContents,
  without,
  type State,
} from "./helpers/checkpoint-state.js";

const log = pino({ level: "silent" });

async function setup(t: ExecutionContext) {
  const { nc } = await tallyServer(t, { shards: 4 });
  const open = (opts: CheckpointsOptions = {}) => Checkpoints.open(nc, log, opts);
  return { nc, open };
}

const part = (
  shard: number,
  seq: number,
  epoch: number,
  upserts: (string | number)[],
  removals: (string | number)[] = [],
) => ({
  shard,
  seq,
  epoch,
  node: "test",
  upserts,
  removals,
});

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as CheckpointError).code;
  }
}

test("checkpoint chain - a base, deltas with removals and an empty delta restore exactly the state the test computed", async (t) => {
  const { nc, open } = await setup(t);
  const cp = await open({ maxParts: 4 });
  t.is(await cp.head(1), undefined);
  t.is((await readState(cp, 1)).info, undefined);
  const s10 = baseState(3000, 1); // 15k entries: two frames
  const b = await cp.write(part(1, 10, 1, flatOf(s10)), { base: true });
  t.like(b, { seq: 10, epoch: 1, parts: 1, chainBytes: 0 });
  t.true(b.bytesWritten > b.baseBytes, "the part and the manifest are counted");
  const d20 = change(s10, 300, 50, 2);
  t.like(await cp.write(part(1, 20, 1, d20.upserts, d20.removals)), { seq: 20, parts: 2 });
  const d30 = change(d20.next, 300, 80, 3);
  t.like(await cp.write(part(1, 30, 1, d30.upserts, d30.removals)), { seq: 30, parts: 3 });
  const before = shardObjects((await storeContents(nc)).objects, 1);
  const empty = await cp.write(part(1, 35, 1, [], []));
  t.like(empty, { seq: 35, parts: 3 });
  t.deepEqual(shardObjects((await storeContents(nc)).objects, 1), before, "an empty delta stores no part");
  const d40 = change(d30.next, 300, 20, 4);
  const last = await cp.write(part(1, 40, 1, d40.upserts, d40.removals));
  t.false(cp.needsCompaction(last), "4 parts, deltas lighter than the base");

  const fresh = await open();
  t.like(await fresh.head(1), { seq: 40, parts: 4 });
  const got = await readState(fresh, 1);
  t.like(got.info, { seq: 40, epoch: 1, parts: 4 });
  t.is(stateDiff(got.state, d40.next), undefined);
  const manifest = await manifestOf(nc, 1);
  t.deepEqual(shardObjects((await storeContents(nc)).objects, 1), [...manifest!.parts].sort(), "nothing else stored");
  const d50 = change(d40.next, 10, 0, 5);
  t.true(cp.needsCompaction(await cp.write(part(1, 50, 1, d50.upserts))), "5 parts > maxParts");
});

test("checkpoint chain - compaction rewrites the stored chain as one base without removed and dropped entries, and deletes the old parts", async (t) => {
  const { nc, open } = await setup(t);
  const cp = await open();
  const s = baseState(500, 11);
  await cp.write(part(2, 10, 3, flatOf(s)), { base: true });
  let truth: State = s;
  for (const [seq, seed] of [
    [20, 12],
    [30, 13],
    [40, 14],
  ] as const) {
    const d = change(truth, 200, 100, seed);
    await cp.write(part(2, seq, 3, d.upserts, d.removals));
    truth = d.next;
  }
  const old = (await manifestOf(nc, 2))!.parts;
  t.is(old.length, 4);
  const other = await open();
  await readState(other, 2); // follows the chain until someone else moves it

  const c = await cp.compact(2, 3, "compactor", (key) => key === EXPIRED_KEY);
  t.like(c, { seq: 40, epoch: 3, parts: 1, chainBytes: 0 });
  t.true(c.bytesWritten > 0);
  const expected = without(truth, EXPIRED_KEY);
  t.true(expected.size < truth.size, "something was dropped");
  const got = await readState(await open(), 2);
  t.like(got.info, { seq: 40, parts: 1 });
  t.is(stateDiff(got.state, expected), undefined);
  const objects = shardObjects((await storeContents(nc)).objects, 2);
  t.deepEqual(objects, (await manifestOf(nc, 2))!.parts);
  t.false(
    old.some((n) => objects.includes(n)),
    "every old part is deleted",
  );

  // The compacting writer keeps appending; a writer that saw the old chain must write a base.
  const d = change(expected, 50, 10, 15);
  t.like(await cp.write(part(2, 50, 3, d.upserts, d.removals)), { seq: 50, parts: 2 });
  t.is(await codeOf(other.write(part(2, 60, 3, d.upserts))), "CHECKPOINT_STALE");
  t.is(stateDiff((await readState(await open(), 2)).state, d.next), undefined);
});

test("checkpoint chain - a fenced or stale writer is refused and changes nothing", async (t) => {
  const { nc, open } = await setup(t);
  const a = await open();
  const s = baseState(300, 21);
  await a.write(part(0, 10, 5, flatOf(s)), { base: true });
  const d20 = change(s, 50, 10, 22);
  await a.write(part(0, 20, 5, d20.upserts, d20.removals));
  const unchanged = async (truth: State, what: string) => {
    const m = await manifestOf(nc, 0);
    t.deepEqual(shardObjects((await storeContents(nc)).objects, 0), [...m!.parts].sort(), `${what}: no stray part`);
    t.is(stateDiff((await readState(await open(), 0)).state, truth), undefined, `${what}: same state`);
    return m!.revision;
  };
  const rev = await unchanged(d20.next, "start");

  const b = await open();
  t.is(await codeOf(b.write(part(0, 30, 4, ["n", "x", 0, 1]))), "CHECKPOINT_FENCED", "lower epoch, delta");
  t.is(
    await codeOf(b.write(part(0, 30, 4, ["n", "x", 0, 1]), { base: true })),
    "CHECKPOINT_FENCED",
    "lower epoch, base",
  );
  t.is(await codeOf(b.compact(0, 4, "b")), "CHECKPOINT_FENCED", "lower epoch, compaction");
  t.is(await codeOf(b.write(part(0, 30, 5, ["n", "x", 0, 1]))), "CHECKPOINT_STALE", "a delta onto a chain never read");
  t.is(await codeOf(a.write(part(0, 15, 5, ["n", "x", 0, 1]))), "CHECKPOINT_STALE", "a delta behind the chain");
  t.is(await codeOf(a.write(part(0, 30, 5, ["n", "x", 0]))), "CHECKPOINT_INVALID");
  t.is((await manifestOf(nc, 0))!.revision, rev);
  await unchanged(d20.next, "refused writes");

  // b reads the chain, then a moves it: b's delta is stale.
  await readState(b, 0);
  const d30 = change(d20.next, 50, 10, 23);
  await a.write(part(0, 30, 5, d30.upserts, d30.removals));
  t.is(await codeOf(b.write(part(0, 40, 5, ["n", "x", 0, 1]))), "CHECKPOINT_STALE", "stale manifest revision");
  await unchanged(d30.next, "stale delta");

  // The manifest moves while c stores its part: the compare-and-set fails, c's part is deleted.
  let interleave: (() => Promise<unknown>) | undefined;
  const c = await open({
    onStep: async (step) => {
      if (step !== "part-stored") return;
      const run = interleave;
      interleave = undefined;
      await run?.();
    },
  });
  await readState(c, 0);
  const d40 = change(d30.next, 50, 10, 24);
  interleave = () => a.write(part(0, 40, 5, d40.upserts, d40.removals));
  t.is(await codeOf(c.write(part(0, 45, 5, ["n", "x", 0, 1]))), "CHECKPOINT_STALE", "moved during the write");
  await unchanged(d40.next, "lost compare-and-set");
  // …and when the one that moved it holds a higher epoch, c learns it is fenced.
  await readState(c, 0);
  const s50 = change(d40.next, 50, 10, 25).next;
  interleave = () => b.write(part(0, 50, 6, flatOf(s50)), { base: true });
  t.is(await codeOf(c.write(part(0, 55, 5, ["n", "x", 0, 1]))), "CHECKPOINT_FENCED", "fenced during the write");
  await unchanged(s50, "fenced during the write");
  t.like(await c.head(0), { seq: 50, epoch: 6, parts: 1 });
});

test("checkpoint chain - a version 1 object still restores, and is deleted once a chain replaces it", async (t) => {
  const { nc, open } = await setup(t);
  const os = await new Objm(nc).open(CHECKPOINTS_BUCKET);
  const v1 = (shard: number, seq: number, s: State) =>
    os.putBlob(
      { name: `shard-${shard}` },
      pack({ v: 1, shard, seq, epoch: 3, node: "old", at: 0, e: flatOf(s) }) as Uint8Array,
    );
  const s2 = baseState(3000, 31);
  const s3 = baseState(100, 32);
  await v1(2, 77, s2);
  await v1(3, 88, s3);
  const cp = await open();
  t.like(await cp.head(2), { seq: 77, epoch: 3, node: "old", parts: 1 });
  const got = await readState(cp, 2);
  t.like(got.info, { seq: 77 });
  t.is(stateDiff(got.state, s2), undefined);
  t.deepEqual(await cp.collectGarbage(undefined, { graceMs: 0 }), { parts: 0, chunks: 0 }, "still the checkpoint");
  t.is(await codeOf(cp.write(part(2, 80, 4, ["n", "x", 0, 1]))), "CHECKPOINT_STALE", "no chain to append to");

  const s80 = change(s2, 100, 0, 33).next;
  await cp.write(part(2, 80, 4, flatOf(s80)), { base: true });
  let objects = (await storeContents(nc)).objects;
  t.deepEqual(shardObjects(objects, 2), (await manifestOf(nc, 2))!.parts, "the version 1 object is gone");
  t.is(stateDiff((await readState(await open(), 2)).state, s80), undefined);

  // A compaction turns a version 1 object into a chain.
  t.like(await cp.compact(3, 4, "c"), { seq: 88, parts: 1 });
  objects = (await storeContents(nc)).objects;
  t.deepEqual(shardObjects(objects, 3), (await manifestOf(nc, 3))!.parts);
  t.is(stateDiff((await readState(await open(), 3)).state, s3), undefined);
  t.is(await codeOf(cp.compact(1, 4, "c")), "CHECKPOINT_MISSING");
});

test("checkpoint chain - a reader whose parts a compaction deletes mid-read reads the new manifest: exact", async (t) => {
  const { nc, open } = await setup(t);
  const cp = await open();
  const s = baseState(400, 41);
  await cp.write(part(1, 10, 1, flatOf(s)), { base: true });
  const d = change(s, 100, 30, 42);
  await cp.write(part(1, 20, 1, d.upserts, d.removals));
  let compactions = 0;
  const reader = await open({
    onStep: async (step) => {
      if (step === "manifest-read" && compactions++ === 0) await cp.compact(1, 1, "compactor");
    },
  });
  const got = await readState(reader, 1);
  t.is(compactions, 2, "read the manifest again");
  t.like(got.info, { seq: 20, parts: 1 });
  t.is(stateDiff(got.state, d.next), undefined);
  t.deepEqual(shardObjects((await storeContents(nc)).objects, 1), (await manifestOf(nc, 1))!.parts);
});
