import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import {
  STORED_EVENT_PREFIX,
  assertToken,
  decodeEvent,
  isReservedNamespace,
  storedEventShard,
  type DecodedEvent,
  type Period,
  type StoredKey,
} from "@tally/core";
import { NodeError } from "../errors.js";
import { EVENTS_STREAM } from "../names.js";
import { storedEventKey, storedTimeMs, subjectDecodedExactly } from "../shard/stored-event.js";
import { readEventLog, type EventLogProgress } from "./event-log-reader.js";
import { RecountTally } from "./verify-tally.js";

/** Which buckets the log can vouch for, as found once the recount was done. */
export interface LogWindow {
  /**
   * The log still holds every event ever stored (its first sequence is 1, none deleted):
   * all-time values and every bucket can be checked.
   */
  complete: boolean;
  /**
   * Stored time (epoch ms) of the log's first event. Unless the log is complete, only
   * buckets starting after it are checked: events the log dropped were stored before it.
   * Undefined when the log holds no event.
   */
  firstStoredMs: number | undefined;
  /** Stored time (epoch ms) of the last event recounted (`endSeq`), if any. */
  lastStoredMs: number | undefined;
}

/** What the recount found. */
export interface Recount {
  tally: RecountTally;
  /** The namespace recounted, or undefined for all of them. */
  ns: string | undefined;
  /** First sequence read from: the stream's first when the recount started. */
  fromSeq: number;
  /** Last sequence recounted: the stream's last when the recount started. */
  endSeq: number;
  /** The stream's first sequence once the recount was done. */
  firstSeq: number;
  window: LogWindow;
  /** Messages read from the log (other namespaces' too, when the server took no filter). */
  scanned: number;
  /** Events of the namespace(s) recounted. */
  events: number;
  /** Events counted. */
  counted: number;
  /** Events a node refuses (dead-letters): bad subject, reserved namespace, wrong shard, bad body, overflow. */
  skipped: number;
  /** Time the reading took, in ms. */
  ms: number;
}

/** What the recount needs from the cluster config. */
export interface RecountSettings {
  shards: number;
  periods: readonly Period[];
  /** Only this namespace (validated as a token). */
  ns?: string;
  /** The events stream. @default "TALLY_EVENTS" */
  stream?: string;
  /** Messages per pull. */
  batch?: number;
  /** Called every 1024 events with the events read and the last sequence. */
  onProgress?: (p: Readonly<EventLogProgress>, fromSeq: number, endSeq: number) => void;
}

/** What a {@link storedCounterLookup} gives for an event of another namespace than the one asked for. */
export const OTHER_NAMESPACE: unique symbol = Symbol("other namespace");

/**
 * A function from a stored event to what `make` returns for its counter, null for an
 * event whose subject a node refuses ({@link storedEventKey}: not UTF-8, malformed,
 * reserved namespace, wrong shard), or {@link OTHER_NAMESPACE} when `ns` is given and the
 * subject's namespace token is another (what a `tally.ev.*.<ns>.*` filter would leave
 * out). The verdict is remembered per subject string when that string tells it all, so
 * each counter's subject is checked (and `make` called) once.
 */
export function storedCounterLookup<T>(
  shards: number,
  make: (key: StoredKey) => T | null,
  ns?: string,
): (m: JsMsg) => T | null | typeof OTHER_NAMESPACE {
  const known = new Map<string, T | null | typeof OTHER_NAMESPACE>();
  return (m) => {
    const subject = m.subject;
    let target = known.get(subject);
    if (target === undefined) {
      target = ns !== undefined && subject.split(".")[3] !== ns ? OTHER_NAMESPACE : refusedOr(m, shards, make);
      if (subjectDecodedExactly(m)) known.set(subject, target);
    }
    return target;
  };
}

function refusedOr<T>(m: JsMsg, shards: number, make: (key: StoredKey) => T | null): T | null {
  const shard = storedEventShard(m.subject);
  if (shard === undefined) return null;
  try {
    return make(storedEventKey(m, shard, shards));
  } catch {
    return null; // a node dead-letters it
  }
}

/** The event's body decoded, or undefined when a node would dead-letter it. */
export function decodeOrSkip(m: JsMsg): DecodedEvent | undefined {
  try {
    return decodeEvent(m.data);
  } catch {
    return undefined;
  }
}

/** Consumer filter for one namespace's stored events, `tally.ev.*.<ns>.*`; throws for a bad or reserved one. */
export function namespaceFilter(ns: string): string {
  assertToken("ns", ns);
  if (isReservedNamespace(ns)) {
    throw new NodeError("BAD_OPTION", `namespace ${ns} is reserved: nothing is counted there`);
  }
  return `${STORED_EVENT_PREFIX}.*.${ns}.*`;
}

/**
 * Recounts the events stream from its first sequence to its last one as of now (`end`),
 * skipping exactly the events a node refuses, into a {@link RecountTally}; then looks
 * at the stream again to learn which buckets the log still fully holds ({@link LogWindow}:
 * events dropped while it read are accounted for).
 */
export async function recountEventLog(nc: NatsConnection, settings: RecountSettings): Promise<Recount> {
  const filter = settings.ns === undefined ? undefined : namespaceFilter(settings.ns);
  const jsm = await jetstreamManager(nc);
  const stream = settings.stream ?? EVENTS_STREAM;
  const before = (await jsm.streams.info(stream)).state;
  const fromSeq = Math.max(before.first_seq, 1);
  const endSeq = before.last_seq;
  const tally = new RecountTally(settings.periods);
  const ns = settings.ns;
  const counterOf = storedCounterLookup(settings.shards, (k) => tally.counter(k.ns, k.name), ns);
  let skipped = 0;
  let other = 0;
  const handle = (m: JsMsg): void => {
    const c = counterOf(m);
    if (c === OTHER_NAMESPACE) {
      other++;
      return;
    }
    const ev = c === null ? undefined : decodeOrSkip(m);
    if (ev === undefined || !tally.apply(c!, ev.delta, ev.ts ?? storedTimeMs(m))) skipped++;
  };
  const onProgress = settings.onProgress;
  const started = performance.now();
  const read = await readEventLog(
    nc,
    {
      stream,
      from: fromSeq,
      to: endSeq,
      ...(filter ? { filter } : {}),
      ...(settings.batch ? { batch: settings.batch } : {}),
    },
    handle,
    onProgress ? { onProgress: (p) => onProgress(p, fromSeq, endSeq) } : {},
  );
  const ms = performance.now() - started;
  const after = (await jsm.streams.info(stream)).state;
  return {
    tally,
    ns: settings.ns,
    fromSeq,
    endSeq,
    firstSeq: after.first_seq,
    window: {
      complete: after.first_seq <= 1 && (after.num_deleted ?? 0) === 0,
      firstStoredMs: after.messages > 0 ? Date.parse(after.first_ts) : undefined,
      lastStoredMs: endSeq > 0 && before.messages > 0 ? Date.parse(before.last_ts) : undefined,
    },
    scanned: read.events,
    events: read.events - other,
    counted: read.events - other - skipped,
    skipped,
    ms,
  };
}
