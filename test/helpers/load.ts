import { randomBytes } from "node:crypto";
import type { ExecutionContext } from "ava";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { DEFAULT_PERIODS, backoffMs, bucketIndex, bucketIso, sleep, type Period } from "@tally/core";
import { tallyClient } from "@tally/client";
import { backgroundLoop } from "./background.js";
import { Truth } from "./truth.js";

import { DAY, RECENT_MONDAY } from "./time.js";
const BASE = RECENT_MONDAY + 2 * DAY;
const enc = new TextEncoder();

/** Options of {@link startLoad}. */
export interface LoadOptions {
  /** Namespace of the counters. @default "load" */
  ns?: string;
  /** Number of counters, `k0…k<n-1>`. @default 48 */
  counters?: number;
  /** Publishers side by side, each waiting for its ack before the next. @default 16 */
  concurrency?: number;
  /** How long one event may be retried before the load fails. @default 60000 */
  eventDeadlineMs?: number;
}

/**
 * A steady stream of acked publishes over `counters` counters (namespace `ns`),
 * each with its own Nats-Msg-Id and retried until acked, so an event whose ack
 * was lost (server killed mid-publish) still counts once. Only acked events go
 * into the ground truth. It runs as a {@link backgroundLoop}: it ends on `stop()`,
 * in the test's teardown, when `nc` closes, or at its deadline.
 */
export interface Load {
  /** Ground truth: every acked event. */
  readonly truth: Truth;
  /** Events acked so far. */
  readonly acked: number;
  /** Publishes that needed a retry (the event still counted once). */
  readonly retries: number;
  /**
   * Stops publishing; resolves once every event in flight is acked (an event is never
   * abandoned between a lost ack and its retry, or the ground truth would miss a counted
   * event). Rejects if an event could not be acked within its deadline.
   */
  stop(): Promise<void>;
}

/** Starts a {@link Load} on `nc`; stopped in `t.teardown` at the latest. */
export function startLoad(t: ExecutionContext, nc: NatsConnection, opts: LoadOptions = {}): Load {
  const ns = opts.ns ?? "load";
  const counters = opts.counters ?? 48;
  const eventDeadlineMs = opts.eventDeadlineMs ?? 60_000;
  const js = jetstream(nc);
  const run = randomBytes(4).toString("hex");
  const truth = new Truth();
  let next = 0;
  let acked = 0;
  let retries = 0;

  const publishOne = async (): Promise<void> => {
    const k = next++;
    const name = `k${k % counters}`;
    const delta = (k % 7) + 1;
    const ts = BASE + (k % 3) * DAY + ((k * 7919) % DAY);
    const body = enc.encode(JSON.stringify({ delta, ts }));
    const msgID = `${run}-${k}`;
    const deadline = performance.now() + eventDeadlineMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const ack = await js.publish(`count.${ns}.${name}`, body, { msgID, timeout: 2000 });
        truth.add(ns, name, delta, ts, DEFAULT_PERIODS, ack.seq);
        acked++;
        return;
      } catch (err) {
        // A closed connection is the end of the test: nothing to wait for any more.
        if (nc.isClosed()) throw new Error(`load ${ns}: connection closed with event ${msgID} unacked`, { cause: err });
        if (performance.now() > deadline) {
          throw new Error(`load ${ns}: event ${msgID} not acked within ${eventDeadlineMs} ms`, { cause: err });
        }
        retries++;
        await sleep(backoffMs(attempt, { baseMs: 50, maxMs: 1000 }));
      }
    }
  };

  const loop = backgroundLoop(t, { name: `load ${ns}`, nc, concurrency: opts.concurrency ?? 16 }, publishOne);
  return {
    truth,
    get acked() {
      return acked;
    },
    get retries() {
      return retries;
    },
    stop: () => loop.stop(),
  };
}

/** Every counter's all-time value and each of its day buckets equals the ground truth. */
export async function assertExact(
  t: ExecutionContext,
  nc: NatsConnection,
  truth: Truth,
  opts: { periods?: readonly Period[]; retryDeadlineMs?: number } = {},
): Promise<void> {
  const periods = opts.periods ?? DEFAULT_PERIODS;
  const client = tallyClient(nc, { retryDeadlineMs: opts.retryDeadlineMs ?? 30_000 });
  t.true(truth.counters.size > 0, "the test published something");
  let checked = 0;
  await Promise.all(
    [...truth.counters].map(async (counter) => {
      const dot = counter.indexOf(".");
      const ns = counter.slice(0, dot);
      const name = counter.slice(dot + 1);
      const all = await client.get(ns, name, { minSeq: truth.lastSeq });
      t.is(all.value, truth.value(ns, name, "all"), `${counter} all-time`);
      if (!periods.includes("day")) return;
      for (let d = 0; d < 3; d++) {
        const at = BASE + d * DAY;
        const r = await client.get(ns, name, { period: "day", at, minSeq: truth.lastSeq });
        t.is(r.value, truth.value(ns, name, "day", bucketIso("day", bucketIndex("day", at))), `${counter} day ${d}`);
      }
      checked++;
    }),
  );
  t.is(checked, truth.counters.size);
}
