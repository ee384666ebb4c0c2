/** Filling the node: both namespaces' events published, then waited for until every shard counted them. */
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient } from "@nats-io/jetstream";
import { publishAll } from "../lib/publish.js";
import { hrNow, log, msSince, sleep } from "../lib/time.js";
import { eventBody, eventOf, eventSubjects } from "./dataset.js";
import { COUNTERS, EVENTS_PER_COUNTER, NS, OTHER_COUNTERS, OTHER_NS, WINDOW } from "./options.js";

const enc = new TextEncoder();

/**
 * Publishes {@link COUNTERS} × {@link EVENTS_PER_COUNTER} events of {@link NS} and as many per
 * counter of {@link OTHER_NS} (its own draws), then waits until a `minSeq` top of {@link NS}
 * answers whole (no shard missing): every shard has counted every event.
 */
export async function fill(nc: NatsConnection, js: JetStreamClient, now: number) {
  const t0 = hrNow();
  const n = COUNTERS * EVENTS_PER_COUNTER;
  log(`fill: ${n} events over ${COUNTERS} counters of ${NS}`);
  const main = await publishAll(js, eventSubjects(NS, COUNTERS), n, WINDOW, (i) =>
    eventBody(eventOf(i, COUNTERS, now)),
  );
  const m = OTHER_COUNTERS * EVENTS_PER_COUNTER;
  log(`fill: ${m} events over ${OTHER_COUNTERS} counters of ${OTHER_NS}`);
  const other = await publishAll(js, eventSubjects(OTHER_NS, OTHER_COUNTERS), m, WINDOW, (i) =>
    eventBody(eventOf(i, OTHER_COUNTERS, now, 7)),
  );
  const publishMs = msSince(t0);
  const lastSeq = Math.max(main.lastSeq, other.lastSeq);
  await waitCounted(nc, lastSeq, 300_000);
  return { events: n + m, lastSeq, publishMs, appliedMs: msSince(t0) };
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
      // a timeout while the node is busy applying: ask again
    }
    if (Date.now() > deadline) throw new Error(`shards had not counted seq ${seq} after ${attempt} asks`);
    await sleep(200);
  }
}
