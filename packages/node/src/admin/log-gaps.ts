import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { LogGapMark } from "@tally/core";
import { CONFIG_BUCKET } from "../names.js";
import { openKv } from "../nats/buckets.js";

/**
 * A shard's log gap, kept in the {@link CONFIG_BUCKET} under {@link gapKey}: when the
 * shard was restored, the log no longer held every event after its restore point, so
 * events of the shard with sequence `restoredSeq + 1 … logFirstSeq - 1` may be missing
 * from its counts. The record outlives restarts and hand-offs (a later owner restores
 * from a checkpoint written after the gap, which cannot show it) until an operator
 * accepts it; an accepted record stays, so the same range is never marked again.
 */
export interface LogGapRecord {
  shard: number;
  /** Every event of the shard up to this sequence is in its counts. */
  restoredSeq: number;
  /** First sequence the log held; events between the two may be missing. */
  logFirstSeq: number;
  /** When it was found (ISO-8601), and by which node. */
  detectedAt: string;
  node: string;
  /** Set by `tally accept-gap`: the counts are taken as they are and replies carry no mark. */
  acceptedAt?: string;
}

/** The range a read reply names when its shard is marked: `"logGap": {"restoredSeq","logFirstSeq"}`. */
export type LogGap = LogGapMark;

/** Header on every read reply of a marked shard. */
export const LOG_GAP_HEADER = "Tally-Warning";

const GAP_PREFIX = "gap.shard-";

/** Key of a shard's {@link LogGapRecord} in the config bucket: `gap.shard-<n>`. */
export function gapKey(shard: number): string {
  return `${GAP_PREFIX}${shard}`;
}

/** The shard of a {@link gapKey}, or undefined for any other key. */
export function parseGapKey(key: string): number | undefined {
  const m = /^gap\.shard-(0|[1-9][0-9]{0,3})$/.exec(key);
  return m ? Number(m[1]) : undefined;
}

/** True when the record marks its shard (found and not accepted). */
export function isMarked(r: LogGapRecord | undefined): r is LogGapRecord {
  return r !== undefined && r.acceptedAt === undefined;
}

/**
 * The gap a restore finds, given the shard's current record, or undefined when there is
 * nothing new to mark. Nothing is missing when the log still holds the event after the
 * restore point (`restoredSeq + 1 >= logFirstSeq`; a new cluster restores 0 and the log
 * starts at 1). Sequences below an accepted record's `logFirstSeq` were accepted as
 * possibly missing, so only a log that has moved past it is a new gap; a gap found while
 * the shard is still marked widens the mark.
 */
export function nextLogGap(
  restoredSeq: number,
  logFirstSeq: number,
  current: LogGapRecord | undefined,
): LogGap | undefined {
  if (restoredSeq + 1 >= logFirstSeq) return undefined;
  if (!current) return { restoredSeq, logFirstSeq };
  if (current.acceptedAt !== undefined) {
    // A restore older than the accepted one left out sequences nobody accepted.
    if (restoredSeq < current.restoredSeq) return { restoredSeq, logFirstSeq };
    if (logFirstSeq <= current.logFirstSeq) return undefined;
    return { restoredSeq: Math.max(restoredSeq, current.logFirstSeq - 1), logFirstSeq };
  }
  const widened = {
    restoredSeq: Math.min(restoredSeq, current.restoredSeq),
    logFirstSeq: Math.max(logFirstSeq, current.logFirstSeq),
  };
  return widened.restoredSeq === current.restoredSeq && widened.logFirstSeq === current.logFirstSeq
    ? undefined
    : widened;
}

/** The warning a marked shard's replies carry in {@link LOG_GAP_HEADER}. */
export function logGapWarning(r: LogGapRecord): string {
  return (
    `log gap: events of shard ${r.shard} with sequence ${r.restoredSeq + 1}-${r.logFirstSeq - 1} are gone from ` +
    `the log, no checkpoint held them, and they may be missing from this count (tally accept-gap --shard ${r.shard})`
  );
}

/** Reads every gap record (marked and accepted), by shard. */
export async function readLogGaps(nc: NatsConnection): Promise<Map<number, LogGapRecord>> {
  const kv = await openKv(nc, CONFIG_BUCKET);
  return (await readGapEntries(nc, kv)).records;
}

async function readGapEntries(
  nc: NatsConnection,
  kv: KV,
): Promise<{ records: Map<number, LogGapRecord>; revisions: Map<number, number> }> {
  // Keys from one stream-info request, not kv.keys() (see admin/status.ts memberKeys).
  const prefix = `$KV.${CONFIG_BUCKET}.`;
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(`KV_${CONFIG_BUCKET}`, { subjects_filter: `${prefix}gap.*` });
  const records = new Map<number, LogGapRecord>();
  const revisions = new Map<number, number>();
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const shard = parseGapKey(subject.slice(prefix.length));
    if (shard === undefined) continue;
    const e = await kv.get(gapKey(shard));
    if (!e || e.operation !== "PUT") continue;
    records.set(shard, e.json<LogGapRecord>());
    revisions.set(shard, e.revision);
  }
  return { records, revisions };
}

/** What {@link acceptLogGaps} did. */
export interface AcceptGapsResult {
  /** The records accepted now. */
  accepted: LogGapRecord[];
  /** Shards asked for that carried no mark. */
  notMarked: number[];
}

/**
 * Accepts the log gaps of `shards` (or of every marked shard with `"all"`): each record
 * gets `acceptedAt`, with a compare-and-set, so a gap found meanwhile is not accepted
 * unseen. The counts keep what they have; nodes see the change at once and stop
 * flagging replies; a later restore is compared against the accepted `logFirstSeq`.
 */
export async function acceptLogGaps(nc: NatsConnection, shards: number[] | "all"): Promise<AcceptGapsResult> {
  const kv = await openKv(nc, CONFIG_BUCKET);
  const accepted: LogGapRecord[] = [];
  const notMarked: number[] = [];
  for (let attempt = 0; ; attempt++) {
    const { records, revisions } = await readGapEntries(nc, kv);
    const wanted = shards === "all" ? [...records.keys()].filter((s) => isMarked(records.get(s))) : shards;
    let conflict = false;
    for (const s of wanted.sort((a, b) => a - b)) {
      const r = records.get(s);
      if (!isMarked(r)) {
        if (!notMarked.includes(s) && !accepted.some((a) => a.shard === s)) notMarked.push(s);
        continue;
      }
      const done: LogGapRecord = { ...r, acceptedAt: new Date().toISOString() };
      try {
        await kv.update(gapKey(s), JSON.stringify(done), revisions.get(s)!);
        accepted.push(done);
      } catch (err) {
        if (attempt >= 4) throw err;
        conflict = true; // changed meanwhile (a node widened it): read again
      }
    }
    if (!conflict) return { accepted, notMarked };
  }
}
