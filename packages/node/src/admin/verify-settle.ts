import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { bucketIndex, bucketKey, type BucketPeriod } from "@tally/core";
import { EVENTS_STREAM } from "../names.js";
import { storedTimeMs } from "../shard/stored-event.js";
import { readEventLog, type EventLogProgress } from "./event-log-reader.js";
import type { Difference } from "./verify-compare.js";
import { OTHER_NAMESPACE, decodeOrSkip, namespaceFilter, storedCounterLookup } from "./verify-recount.js";

/** What {@link settleWithLaterEvents} found. */
export interface SettleResult {
  /** The differences that events stored after the recount do not explain. */
  differences: Difference[];
  /** Apparent differences that they do explain (a live cluster kept counting). */
  settled: number;
  /** Events read after the recount's end. */
  events: number;
  /** Last sequence read. */
  toSeq: number;
}

/** What settling needs. */
export interface SettleSettings {
  shards: number;
  /** The recount's end: the reads used it as `minSeq`. */
  endSeq: number;
  ns?: string;
  onProgress?: (p: Readonly<EventLogProgress>, fromSeq: number, toSeq: number) => void;
}

/** One counted event of a counter that differs, after the recount's end. */
export interface LaterEvent {
  delta: number;
  ts: number;
}

/**
 * A read with `minSeq = end` reflects every event up to `end` and maybe some after it:
 * exactly those up to the sequence its shard had applied, somewhere between `end` and
 * the stream's last sequence now. So a served value is right if it equals the recount
 * plus the bucket's events after `end` up to some point, in order. This reads those
 * events (for the differing counters only) and keeps the differences that no such
 * prefix explains.
 */
export async function settleWithLaterEvents(
  nc: NatsConnection,
  apparent: readonly Difference[],
  s: SettleSettings,
): Promise<SettleResult> {
  const jsm = await jetstreamManager(nc);
  const toSeq = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
  if (apparent.length === 0 || toSeq <= s.endSeq) return { differences: [...apparent], settled: 0, events: 0, toSeq };
  const later = new Map<string, LaterEvent[]>();
  for (const d of apparent) later.set(d.ns + "\u0000" + d.name, []);
  const eventsOf = storedCounterLookup(s.shards, (k) => later.get(k.ns + "\u0000" + k.name) ?? null, s.ns);
  const onProgress = s.onProgress;
  const read = await readEventLog(
    nc,
    { from: s.endSeq + 1, to: toSeq, ...(s.ns !== undefined ? { filter: namespaceFilter(s.ns) } : {}) },
    (m) => {
      const list = eventsOf(m);
      const ev = list === null || list === OTHER_NAMESPACE ? undefined : decodeOrSkip(m);
      if (ev !== undefined) (list as LaterEvent[]).push({ delta: ev.delta, ts: ev.ts ?? storedTimeMs(m) });
    },
    onProgress ? { onProgress: (p) => onProgress(p, s.endSeq + 1, toSeq) } : {},
  );
  const differences = apparent.filter((d) => !explainedByLaterEvents(d, later.get(d.ns + "\u0000" + d.name) ?? []));
  return { differences, settled: apparent.length - differences.length, events: read.events, toSeq };
}

/**
 * Whether `d.served` is the expected value plus the deltas of a prefix (possibly empty,
 * possibly all) of `events` that fall in `d`'s bucket, in stream order.
 */
export function explainedByLaterEvents(d: Difference, events: readonly LaterEvent[]): boolean {
  if (d.served === null) return false;
  const p = d.period === "all" ? undefined : (d.period as BucketPeriod);
  const key = p === undefined ? 0 : bucketKey(p, bucketIndex(p, Date.parse(d.bucket!)));
  let value = d.expected;
  for (const e of events) {
    if (value === d.served) return true;
    if (p === undefined || bucketKey(p, bucketIndex(p, e.ts)) === key) value += e.delta;
  }
  return value === d.served;
}
