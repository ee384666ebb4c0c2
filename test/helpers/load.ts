import { randomBytes } from "node:crypto";
import type { ExecutionContext } from "ava";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { DEFAULT_PERIODS, bucketIndex, bucketIso, type Period } from "@tally/core";
import { tallyClient } from "@tally/client";
import { Truth } from "./truth.js";

const DAY = 86_400_000;
const BASE = Date.UTC(2026, 10, 18);
const enc = new TextEncoder();

/**
 * A steady stream of acked publishes over `counters` counters (namespace `ns`),
 * each with its own Nats-Msg-Id and retried until acked, so an event whose ack
 * was lost (server killed mid-publish) still counts once. Only acked events go
 * into the ground truth.
 */
export class Load {
  readonly truth = new Truth();
  readonly #js: JetStreamClient;
  readonly #ns: string;
  readonly #counters: number;
  readonly #run = randomBytes(4).toString("hex");
  #next = 0;
  #stopped = false;
  #loops: Promise<void>[] = [];
  /** Publishes that needed a retry (the event still counted once). */
  retries = 0;

  constructor(js: JetStreamClient, opts: { ns?: string; counters?: number } = {}) {
    this.#js = js;
    this.#ns = opts.ns ?? "load";
    this.#counters = opts.counters ?? 48;
  }

  #acked = 0;

  /** Events acked so far. */
  get acked(): number {
    return this.#acked;
  }

  /** Starts `concurrency` publishers, each waiting for its ack before the next. */
  start(concurrency = 16): this {
    for (let i = 0; i < concurrency; i++) this.#loops.push(this.#loop());
    return this;
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      const k = this.#next++;
      const name = `k${k % this.#counters}`;
      const delta = (k % 7) + 1;
      const ts = BASE + (k % 3) * DAY + ((k * 7919) % DAY);
      const body = enc.encode(JSON.stringify({ delta, ts }));
      const msgID = `${this.#run}-${k}`;
      const deadline = Date.now() + 60_000;
      for (let attempt = 0; ; attempt++) {
        try {
          const ack = await this.#js.publish(`count.${this.#ns}.${name}`, body, { msgID, timeout: 2000 });
          this.truth.add(this.#ns, name, delta, ts, DEFAULT_PERIODS, ack.seq);
          this.#acked++;
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          this.retries++;
          await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
        }
      }
    }
  }

  /** Stops publishing; resolves once every publish in flight is acked. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }
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
