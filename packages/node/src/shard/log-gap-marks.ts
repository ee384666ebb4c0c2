import type { NatsConnection } from "@nats-io/transport-node";
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import {
  LOG_GAP_HEADER,
  gapKey,
  isMarked,
  logGapWarning,
  nextLogGap,
  type LogGap,
  type LogGapRecord,
} from "../admin/log-gaps.js";
import { CONFIG_BUCKET } from "../names.js";
import { openKv } from "../nats/buckets.js";
import type { ReplyAnnotation } from "../nats/replies.js";

/** What reads and status need to know of the marks. */
export interface LogGapView {
  /** The record that marks `shard`, if it is marked (found and not accepted). */
  marked(shard: number): LogGapRecord | undefined;
  /** What every success reply of a marked shard carries: the `logGap` field and a `Tally-Warning` header. */
  annotation(shard: number): ReplyAnnotation | undefined;
  /** Marks the shard if the log starting at `logFirstSeq` leaves out sequences after `restoredSeq` (see {@link LogGapMarks.check}). */
  check(shard: number, restoredSeq: number, logFirstSeq: number, how: string): Promise<void>;
}

/**
 * This node's view of every shard's log gap record (fed by the config bucket watch,
 * see `ClusterSettings`), and the writer of new ones. A gap is set in the local view
 * the moment it is found, before any read of the shard can be answered, and then
 * stored with a compare-and-set, so it survives this node and is seen by every other.
 */
export class LogGapMarks implements LogGapView {
  readonly #kv: KV;
  readonly #nodeId: string;
  readonly #log: Logger;
  readonly #records = new Map<number, LogGapRecord>();
  /** Shards whose local record was set here but not (yet) stored. */
  readonly #unsaved = new Set<number>();

  private constructor(kv: KV, nodeId: string, log: Logger) {
    this.#kv = kv;
    this.#nodeId = nodeId;
    this.#log = log;
  }

  static async open(nc: NatsConnection, nodeId: string, log: Logger): Promise<LogGapMarks> {
    return new LogGapMarks(await openKv(nc, CONFIG_BUCKET), nodeId, log);
  }

  /** A record as stored (from the watch); undefined when it was deleted. */
  apply(shard: number, record: LogGapRecord | undefined): void {
    if (record) this.#records.set(shard, record);
    else this.#records.delete(shard);
    this.#unsaved.delete(shard);
  }

  marked(shard: number): LogGapRecord | undefined {
    const r = this.#records.get(shard);
    return isMarked(r) ? r : undefined;
  }

  annotation(shard: number): ReplyAnnotation | undefined {
    const r = this.marked(shard);
    if (!r) return undefined;
    const logGap: LogGap = { restoredSeq: r.restoredSeq, logFirstSeq: r.logFirstSeq };
    return { fields: { logGap }, headers: { [LOG_GAP_HEADER]: logGapWarning(r) } };
  }

  /** Per-shard figures with `logGap` added to each marked shard's (for the node's `/status`). */
  withMarks<T extends { shard: number }>(stats: T[]): (T & { logGap?: LogGap })[] {
    return stats.map((s) => {
      const r = this.marked(s.shard);
      return r ? { ...s, logGap: { restoredSeq: r.restoredSeq, logFirstSeq: r.logFirstSeq } } : s;
    });
  }

  /**
   * The shard's state reflects every event up to `restoredSeq`, and the log starts at
   * `logFirstSeq`: if that leaves a range of sequences out, mark it. The local view
   * changes synchronously (call this before the shard may answer a read); the promise
   * resolves once the record is stored, and rejects if it could not be (the caller must
   * then not serve the shard, or the mark would be lost with this node).
   */
  async check(shard: number, restoredSeq: number, logFirstSeq: number, how: string): Promise<void> {
    const local = nextLogGap(restoredSeq, logFirstSeq, this.#records.get(shard));
    if (local) {
      this.#records.set(shard, this.#record(shard, local));
      this.#unsaved.add(shard);
    }
    const want = this.#records.get(shard);
    if (!want || !this.#unsaved.has(shard)) return; // nothing new, and what is known is stored
    // The local record (this gap merged with what was known) is stored, decided against
    // the stored record: another node may have changed it, or a write of ours failed.
    for (let attempt = 0; ; attempt++) {
      const e = await this.#kv.get(gapKey(shard));
      const stored = e?.operation === "PUT" ? e.json<LogGapRecord>() : undefined;
      const gap = nextLogGap(want.restoredSeq, want.logFirstSeq, stored);
      if (!gap) {
        this.apply(shard, stored);
        return;
      }
      const record = this.#record(shard, gap);
      try {
        if (stored) await this.#kv.update(gapKey(shard), JSON.stringify(record), e!.revision);
        else await this.#kv.create(gapKey(shard), JSON.stringify(record));
      } catch (err) {
        if (attempt >= 4) throw err;
        continue; // changed meanwhile: decide again
      }
      this.apply(shard, record);
      this.#log.error(
        {
          shard,
          restoredSeq: gap.restoredSeq,
          logFirstSeq: gap.logFirstSeq,
          missing: `${gap.restoredSeq + 1}-${gap.logFirstSeq - 1}`,
          found: how,
        },
        `events of shard ${shard} with sequence ${gap.restoredSeq + 1}-${gap.logFirstSeq - 1} are gone from the log ` +
          `and no checkpoint held them: its counts may miss them. Every read reply of the shard now carries "logGap" and a ` +
          `Tally-Warning header. Restore the events if you have them elsewhere, or accept the counts as they are with ` +
          `\`tally accept-gap --shard ${shard}\``,
      );
      return;
    }
  }

  #record(shard: number, gap: LogGap): LogGapRecord {
    return { shard, ...gap, detectedAt: new Date().toISOString(), node: this.#nodeId };
  }
}
