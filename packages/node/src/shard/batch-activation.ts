import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { storedEventShard } from "@tally/core";
import { NodeError } from "../errors.js";
import { EVENTS_STREAM } from "../names.js";
import { stopOnMissedHeartbeats } from "../nats/consumer-watchdog.js";
import { turnBudget } from "../turn-budget.js";
import type { LogGapMarks } from "./log-gap-marks.js";
import type { ShardActor } from "./shard-actor.js";

/** What activating a batch of newly taken shards needs from the node. */
export interface ActivationContext {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly log: Logger;
  /** Where a restore point older than the log is marked. */
  readonly logGaps: LogGapMarks;
  /** False once the node stops: the replay ends early, without an error. */
  live(): boolean;
  /** False once the shard is no longer held (dropped or handed off meanwhile). */
  stillHeld(actor: ShardActor): boolean;
}

/** What an activation did. */
export interface ActivationResult {
  /** Shards now consuming and serving. */
  active: ShardActor[];
  /** Events read by the batch replay. */
  replayedEvents: number;
}

/**
 * Brings newly taken shards into service: restores each (newer of local snapshot and
 * shared checkpoint), replays the stream for all of them together through one
 * unfiltered consumer, then gives each its own consumer from the next sequence.
 * The replays in flight are kept in `replays`, so a stopping node can end them.
 *
 * A shard whose restore point is older than the log's first event (`restored + 1 <
 * first_seq`: a bounded log dropped events no checkpoint held), or whose replay finds
 * sequences missing, is marked with a log gap before any of its reads is answered
 * (they wait for the replay), so it never serves a silently wrong count.
 */
export async function activateShards(
  batch: ShardActor[],
  ctx: ActivationContext,
  replays: Set<ConsumerMessages>,
): Promise<ActivationResult> {
  const started = performance.now();
  const phase = (what: string) =>
    ctx.log.debug({ shards: batch.map((x) => x.shard), ms: Math.round(performance.now() - started) }, what);
  const last = (await ctx.jsm.streams.info(EVENTS_STREAM)).state.last_seq;
  await Promise.all(batch.map((a) => a.restore(last)));
  phase("restored");
  const active = batch.filter((a) => ctx.stillHeld(a));
  // The log's start as of now, not before the restore (which can take seconds): the
  // replay below reads from there.
  const first = (await ctx.jsm.streams.info(EVENTS_STREAM)).state.first_seq;
  await Promise.all(active.map((a) => ctx.logGaps.check(a.shard, a.confirmedSeq, first, "restore")));
  const replayedEvents = await replayBatch(active, last, ctx, replays);
  phase("replayed");
  // A node stopping cut the replay short: the shards never reached `last`, so they
  // must not consume from there (they are closed with what they really applied).
  if (!ctx.live()) return { active: [], replayedEvents };
  await Promise.all(active.map((a) => a.consume(last)));
  return { active, replayedEvents };
}

/**
 * Replays the stream from the oldest restored sequence of `actors` up to `to`
 * through one unfiltered ordered consumer, handing each event to its shard: for the
 * server one sequential read instead of one filtered scan per shard.
 */
async function replayBatch(
  actors: ShardActor[],
  to: number,
  ctx: ActivationContext,
  replays: Set<ConsumerMessages>,
): Promise<number> {
  if (actors.length === 0) return 0;
  const byShard = new Map(actors.map((a) => [a.shard, a]));
  const from = Math.min(...actors.map((a) => a.confirmedSeq)) + 1;
  if (from > to) return 0;
  // No filter at all (the stream holds only tally.ev.* subjects): nats-server 2.9
  // recounts a filtered consumer's pending messages by scanning as the stream grows,
  // which made a replay under live load slow down more and more.
  const consumer = await ctx.js.consumers.get(EVENTS_STREAM, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  });
  if ((await consumer.info(true)).num_pending === 0) return 0;
  const messages = await consumer.consume({ max_messages: 1024, expires: 5000 });
  stopOnMissedHeartbeats(messages, (count) => ctx.log.warn({ count }, "replay consumer missed heartbeats"));
  ctx.log.debug({ shards: [...byShard.keys()], from, to }, "replay started");
  replays.add(messages);
  let n = 0;
  let reached = from - 1;
  // Shares the turns of the event loop with the shards' own loops (see turn-budget.ts).
  const gate = turnBudget.gate();
  try {
    for await (const m of messages) {
      for (let wait = gate.pass(); wait; wait = gate.pass()) await wait;
      if (!ctx.live()) break;
      n++;
      // Every stored sequence comes through this unfiltered consumer: a jump is events
      // dropped (or deleted) after the replay began; each shard not past them is marked.
      if (m.seq > reached + 1) await markSkipped(actors, reached, m.seq, ctx);
      reached = m.seq;
      const shard = storedEventShard(m.subject);
      const pending = shard === undefined ? undefined : byShard.get(shard)?.replay(m);
      if (pending) await pending;
      if (!ctx.live()) break;
      if (m.seq >= to || m.info.pending === 0) {
        reached = to; // pending 0: nothing of the stream up to `to` is left
        break;
      }
      if (n % 1024 === 0) {
        ctx.log.debug({ shards: [...byShard.keys()], at: m.seq, to, pending: m.info.pending }, "replay progress");
      }
    }
  } finally {
    replays.delete(messages);
    messages.stop(); // close() would wait for an iteration that has ended
  }
  if (reached < to && ctx.live()) {
    throw new NodeError("REPLAY_FAILED", `replay stopped at sequence ${reached} of ${to} (connection lost?)`);
  }
  return n;
}

/** The replay jumped from `reached` to `next`: marks every shard whose state lacks the sequences in between. */
async function markSkipped(actors: ShardActor[], reached: number, next: number, ctx: ActivationContext): Promise<void> {
  await Promise.all(actors.map((a) => ctx.logGaps.check(a.shard, Math.max(a.confirmedSeq, reached), next, "replay")));
}
