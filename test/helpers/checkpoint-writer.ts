/**
 * A checkpoint writer that kills itself (SIGKILL) at a named step, for the crash tests
 * in checkpoint-chain.test.ts. Run with `node --import tsx`; reads its job from the JSON
 * file named by CKPT_JOB, and CKPT_KILL_AT (a CheckpointStep) and, for "part-frame",
 * CKPT_KILL_AFTER_BYTES. It first reads the shard's chain (so it may append a delta),
 * then does the job. Exits 0 if the step never came (the test then fails), 1 on error.
 */
import { readFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import { pino } from "pino";
import { Checkpoints, type CheckpointStep } from "../../packages/node/src/storage/checkpoints.js";
import type { FlatEntries, FlatRemovals } from "../../packages/node/src/storage/checkpoints.js";

/** What the writer does. */
export interface WriterJob {
  url: string;
  shard: number;
  op: "delta" | "base" | "compact";
  seq: number;
  epoch: number;
  upserts: FlatEntries;
  removals: FlatRemovals;
  /** For "compact": entries with this key are dropped. */
  dropKey?: number;
}

const job = JSON.parse(readFileSync(process.env.CKPT_JOB!, "utf8")) as WriterJob;
const killAt = process.env.CKPT_KILL_AT as CheckpointStep;
const afterBytes = Number(process.env.CKPT_KILL_AFTER_BYTES ?? 0);

const nc = await connect({ servers: job.url });
const cp = await Checkpoints.open(nc, pino({ level: "silent" }), {
  onStep: (step, detail) => {
    if (step === killAt && (detail.bytes ?? Infinity) >= afterBytes) process.kill(process.pid, "SIGKILL");
  },
});
try {
  await cp.read(
    job.shard,
    () => undefined,
    () => undefined,
  );
  const part = {
    shard: job.shard,
    seq: job.seq,
    epoch: job.epoch,
    node: "child",
    upserts: job.upserts,
    removals: job.removals,
  };
  if (job.op === "compact") await cp.compact(job.shard, job.epoch, "child", (key) => key === job.dropKey);
  else await cp.write(part, { base: job.op === "base" });
  await nc.close();
  process.exit(0);
} catch (err) {
  console.error(err);
  process.exit(1);
}
