import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  bucketIndex,
  bucketIso,
  compareNames,
  compareTopItems,
  encodeName,
  eventSubject,
  type Period,
  type TopItem,
} from "@tally/core";

/** One event a test publishes: a decoded name, a delta, an event time. */
export interface KnownEvent {
  name: string;
  delta: number;
  ts: number;
}

/**
 * Ground truth of one namespace from what the test published and got acked, by decoded
 * name: what top and list must answer.
 */
export class NamespaceTruth {
  readonly ns: string;
  readonly periods: readonly Period[];
  /** decoded name → "all" | "<period>|<bucket iso>" → value */
  readonly #values = new Map<string, Map<string, number>>();
  lastSeq = 0;

  constructor(ns: string, periods: readonly Period[]) {
    this.ns = ns;
    this.periods = periods;
  }

  add(e: KnownEvent, seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
    const m = this.#values.get(e.name) ?? new Map<string, number>();
    this.#values.set(e.name, m);
    for (const p of this.periods) {
      const k = p === "all" ? "all" : `${p}|${bucketIso(p, bucketIndex(p, e.ts))}`;
      m.set(k, (m.get(k) ?? 0) + e.delta);
    }
  }

  #key(period: Period, at: number): string {
    return period === "all" ? "all" : `${period}|${bucketIso(period, bucketIndex(period, at))}`;
  }

  /** The exact top `limit` of the bucket of `period` holding `at`, over the names `keep` keeps. */
  top(period: Period, at: number, limit: number, keep: (name: string) => boolean = () => true): TopItem[] {
    const k = this.#key(period, at);
    return [...this.#values]
      .filter(([name, m]) => m.has(k) && keep(name))
      .map(([name, m]) => ({ name, value: m.get(k)! }))
      .sort(compareTopItems)
      .slice(0, limit);
  }

  /** Every name with a value in that bucket starting with `prefix` that `keep` keeps, sorted. */
  list(period: Period, at: number, prefix = "", keep: (name: string) => boolean = () => true): string[] {
    const k = this.#key(period, at);
    return [...this.#values]
      .filter(([name, m]) => m.has(k) && name.startsWith(prefix) && keep(name))
      .map(([name]) => name)
      .sort(compareNames);
  }
}

/** Publishes `events` (acked, each with its own message id) into `truth`. */
export async function publishKnown(nc: NatsConnection, truth: NamespaceTruth, events: KnownEvent[]): Promise<void> {
  const js = jetstream(nc);
  const run = Math.random().toString(36).slice(2);
  let i = 0;
  await Promise.all(
    events.map(async (e) => {
      const id = `${run}-${i++}`;
      const body = JSON.stringify({ delta: e.delta, ts: e.ts });
      const ack = await js.publish(eventSubject(truth.ns, encodeName(e.name)), body, { msgID: id });
      truth.add(e, ack.seq);
    }),
  );
}

/** Sends a request and parses its JSON reply. */
export async function requestJson<T>(nc: NatsConnection, subject: string, body: unknown = ""): Promise<T> {
  const data = typeof body === "string" ? body : JSON.stringify(body);
  const reply = await nc.request(subject, data, { timeout: 10_000 });
  return reply.json<T>();
}
