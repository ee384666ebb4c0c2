import test, { type ExecutionContext } from "ava";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { tempDir, trackProcess } from "@tally/testing";
import { Checkpoints, type CheckpointStep } from "../packages/node/src/storage/checkpoints.js";
import { ROOT, tallyServer } from "./helpers/cluster.js";
import { within } from "./helpers/deadline.js";
import type { WriterJob } from "./helpers/checkpoint-writer.js";
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

const SHARD = 1;

/** A writer killed at one step: what it was doing, where it died, what must be found afterwards. */
interface Crash {
  op: WriterJob["op"];
  killAt: CheckpointStep;
  /** For "part-frame": die once this many bytes of the part were handed to the object store. */
  afterBytes?: number;
  /** Which chain read() must return: the one before the write, or the one it wrote. */
  expect: "old" | "new";
  /** Part objects garbage collection must delete. */
  garbageParts: number;
  /** Whether chunks of a never-finished put are left over. */
  orphans: boolean;
}

/** Runs the writer child until it dies; resolves with its exit code or signal. */
async function runWriter(t: ExecutionContext, job: WriterJob, crash: Crash): Promise<number | string> {
  const dir = await tempDir("tally-ckpt-");
  t.teardown(() => dir.remove());
  const file = join(dir.path, "job.json");
  await writeFile(file, JSON.stringify(job));
  const proc = spawn(process.execPath, ["--import", "tsx", "test/helpers/checkpoint-writer.ts"], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
    env: {
      ...process.env,
      CKPT_JOB: file,
      CKPT_KILL_AT: crash.killAt,
      CKPT_KILL_AFTER_BYTES: String(crash.afterBytes ?? 0),
    },
  });
  trackProcess(proc);
  let stderr = "";
  proc.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | string>((resolve) =>
    proc.once("exit", (code, signal) => resolve(signal ?? code ?? -1)),
  );
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGKILL");
      await within(exited, 10_000, "the writer to exit after SIGKILL");
    }
  });
  const how = await within(exited, 90_000, `the writer to die at ${crash.killAt}`);
  if (how !== "SIGKILL") t.log(stderr.slice(-2000));
  return how;
}

const killed = test.macro(async (t, crash: Crash) => {
  const { nc, server } = await tallyServer(t, { shards: 4 });
  const cp = await Checkpoints.open(nc, pino({ level: "silent" }));
  // A chain of three parts at seq 30; the base is large enough (30k entries) for a put of several chunks.
  const s10 = baseState(6000, 1);
  await cp.write({ shard: SHARD, seq: 10, epoch: 1, node: "t", upserts: flatOf(s10), removals: [] }, { base: true });
  let truth: State = s10;
  for (const [seq, seed] of [
    [20, 2],
    [30, 3],
  ] as const) {
    const d = change(truth, 500, 100, seed);
    await cp.write({ shard: SHARD, seq, epoch: 1, node: "t", upserts: d.upserts, removals: d.removals });
    truth = d.next;
  }
  const old = { seq: 30, state: truth };

  // What the child writes, and the chain that results if it gets through.
  let job: WriterJob;
  let next: { seq: number; state: State };
  if (crash.op === "compact") {
    job = {
      url: server.url,
      shard: SHARD,
      op: "compact",
      seq: 30,
      epoch: 1,
      upserts: [],
      removals: [],
      dropKey: EXPIRED_KEY,
    };
    next = { seq: 30, state: without(truth, EXPIRED_KEY) };
  } else {
    const d = change(truth, 30_000, 200, 4);
    const base = crash.op === "base";
    job = {
      url: server.url,
      shard: SHARD,
      op: crash.op,
      seq: 40,
      epoch: 1,
      upserts: base ? flatOf(d.next) : d.upserts,
      removals: base ? [] : d.removals,
    };
    next = { seq: 40, state: d.next };
  }
  t.is(await runWriter(t, job, crash), "SIGKILL", `the writer died at ${crash.killAt}`);

  // Exact for one of the two sequences: the one the kill point implies.
  const want = crash.expect === "old" ? old : next;
  const got = await readState(cp, SHARD);
  t.is(got.info?.seq, want.seq);
  t.is(stateDiff(got.state, want.state), undefined);

  const before = await storeContents(nc);
  const listed = (await manifestOf(nc, SHARD))!.parts;
  t.is(shardObjects(before.objects, SHARD).length, listed.length + crash.garbageParts, "garbage parts left");
  t.is(before.orphans.length > 0, crash.orphans, "orphan chunks left");
  // Within the grace period nothing is touched: it could be a put still in progress.
  t.deepEqual(await cp.collectGarbage(SHARD), { parts: 0, chunks: 0 });
  const gc = await cp.collectGarbage(SHARD, { graceMs: 0 });
  t.is(gc.parts, crash.garbageParts);
  t.is(gc.chunks > 0, crash.orphans);
  const after = await storeContents(nc);
  t.deepEqual(shardObjects(after.objects, SHARD), [...listed].sort(), "only what the manifest lists is left");
  t.deepEqual(after.orphans, [], "no orphan chunks");
  t.is(stateDiff((await readState(cp, SHARD)).state, want.state), undefined, "the collection broke nothing");

  // The chain goes on: a delta on top of it restores exactly.
  const d = change(want.state, 100, 20, 5);
  await cp.write({ shard: SHARD, seq: 50, epoch: 1, node: "t", upserts: d.upserts, removals: d.removals });
  const fresh = await Checkpoints.open(nc, pino({ level: "silent" }));
  t.is(stateDiff((await readState(fresh, SHARD)).state, d.next), undefined);
});

test.serial("checkpoint crash - a writer killed mid-put of a delta leaves the old chain and orphan chunks", killed, {
  op: "delta",
  killAt: "part-frame",
  afterBytes: 250_000,
  expect: "old",
  garbageParts: 0,
  orphans: true,
});
test.serial(
  "checkpoint crash - a writer killed after the delta's put, before the manifest update, leaves the old chain",
  killed,
  {
    op: "delta",
    killAt: "part-stored",
    expect: "old",
    garbageParts: 1,
    orphans: false,
  },
);
test.serial("checkpoint crash - a compaction killed mid-put of its base leaves the old chain", killed, {
  op: "compact",
  killAt: "part-frame",
  afterBytes: 250_000,
  expect: "old",
  garbageParts: 0,
  orphans: true,
});
test.serial("checkpoint crash - a compaction killed after its base's put leaves the old chain", killed, {
  op: "compact",
  killAt: "part-stored",
  expect: "old",
  garbageParts: 1,
  orphans: false,
});
test.serial(
  "checkpoint crash - a compaction killed after the manifest update leaves the new base and the old parts",
  killed,
  {
    op: "compact",
    killAt: "manifest-updated",
    expect: "new",
    garbageParts: 3,
    orphans: false,
  },
);
test.serial("checkpoint crash - a compaction killed while deleting the old parts leaves the new base", killed, {
  op: "compact",
  killAt: "part-deleted",
  expect: "new",
  garbageParts: 2,
  orphans: false,
});
test.serial(
  "checkpoint crash - a base killed after the manifest update leaves the new chain and the old parts",
  killed,
  {
    op: "base",
    killAt: "manifest-updated",
    expect: "new",
    garbageParts: 3,
    orphans: false,
  },
);
