/** Filling the nodes: both namespaces' events published, then waited for until every shard counted them. */
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient } from "@nats-io/jetstream";
import { halted } from "../lib/cleanup.js";
import { publishAll } from "../lib/publish.js";
import { hrNow, log, msSince, sleep } from "../lib/time.js";
import { eventBody, eventOf, eventSubject } from "./dataset.js";
import { COUNTERS, EVENTS_PER_COUNTER, NS, OTHER_COUNTERS, OTHER_NS, WINDOW } from "./options.js";

const enc = new TextEncoder();
/** Events per {@link publishAll} call: a progress line after each. */
const CHUNK = 100_000;

/**
 * Publishes `counters` × {@link EVENTS_PER_COUNTER} events of `ns` (event `i` is
 * {@link eventOf}(i, counters, now, salt), to its counter's subject), {@link WINDOW} acked
 * publishes in flight, in chunks with a progress line; resolves with the highest sequence.
 */
async function publishNamespace(js: JetStreamClient, ns: string, counters: number, now: number, salt: number) {
  const n = counters * EVENTS_PER_COUNTER;
  const t0 = hrNow();
  let lastSeq = 0;
  for (let from = 0; from < n; from += CHUNK) {
    if (halted()) throw new Error("fill: stopped (cleanup under way)");
    const count = Math.min(CHUNK, n - from);
    const r = await publishAll(
      js,
      (i) => eventSubject(ns, (from + i) % counters),
      count,
      WINDOW,
      (i) => eventBody(eventOf(from + i, counters, now, salt)),
    );
    lastSeq = Math.max(lastSeq, r.lastSeq);
    const done = from + count;
    log(`fill: ${ns} ${done}/${n} acked (${Math.round(done / (msSince(t0) / 1000))}/s)`);
  }
  return { events: n, lastSeq };
}

/**
 * Publishes {@link COUNTERS} × {@link EVENTS_PER_COUNTER} events of {@link NS} and as many per
 * counter of {@link OTHER_NS} (its own draws), then waits until a `minSeq` top of {@link NS}
 * answers whole (no shard missing): every shard has counted every event.
 */
export async function fill(nc: NatsConnection, js: JetStreamClient, now: number) {
  const t0 = hrNow();
  const main = await publishNamespace(js, NS, COUNTERS, now, 1);
  const other = await publishNamespace(js, OTHER_NS, OTHER_COUNTERS, now, 7);
  const publishMs = msSince(t0);
  const lastSeq = Math.max(main.lastSeq, other.lastSeq);
  log(`fill: published in ${(publishMs / 1000).toFixed(1)} s; waiting until every shard counted seq ${lastSeq}`);
  await waitCounted(nc, lastSeq, 600_000);
  return { events: main.events + other.events, lastSeq, publishMs, appliedMs: msSince(t0) };
}

/**
 * Waits until a `minSeq = seq` top of {@link NS} answers whole (no shard missing): every shard
 * has counted every event up to `seq`. Throws after `timeoutMs`.
 */
export async function waitCounted(nc: NatsConnection, seq: number, timeoutMs: number): Promise<void> {
  const body = enc.encode(JSON.stringify({ minSeq: seq, limit: 1 }));
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const r = (await nc.request(`count.top.${NS}.all`, body, { timeout: 10_000 })).json<Record<string, unknown>>();
      if (r.error === undefined && r.partial === undefined) return;
    } catch {
      // a timeout while the nodes are busy applying: ask again
    }
    if (halted()) throw new Error("stopped waiting for the shards (cleanup under way)");
    if (Date.now() > deadline) throw new Error(`shards had not counted seq ${seq} after ${attempt} asks`);
    await sleep(200);
  }
}
