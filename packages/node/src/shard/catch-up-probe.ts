import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { EVENTS_STREAM } from "../names.js";
import { nextShardEventSeq } from "../nats/stream-lookup.js";
import type { ShardProgress } from "./shard-progress.js";

/** A consumer that delivers nothing this long while its shard has events waiting is recreated. */
const STALL_MS = 5000;

/** What the probe needs from its shard. */
export interface CatchUpProbeHooks {
  /** The smallest sequence a waiting read needs, or undefined when none waits. */
  minNeed(): number | undefined;
  /** False once the shard stops consuming. */
  running(): boolean;
  /** `caughtUpTo` moved: answer the reads that can be answered now. */
  caughtUp(): void;
  /** The consumer looks stalled: recreate it. */
  stalled(): void;
  /**
   * The log now starts at `logFirstSeq`, after `confirmedSeq + 1`: events of the shard
   * may have left it unprocessed. Marks the shard (resolves once the mark is stored).
   */
  gap(confirmedSeq: number, logFirstSeq: number): Promise<void>;
}

/**
 * Proves how far a shard is caught up while reads wait for a sequence it has not
 * processed: with L the stream's last sequence, read *first*, and F the first event
 * of this shard after the confirmed sequence, every event of this shard below
 * min(F, L + 1) is processed. Two cheap requests; the consumer's own info is avoided,
 * as nats-server 2.9 counts its pending messages by scanning. Also notices a consumer
 * that delivers nothing while events of its shard wait (stall detection off the hot path).
 */
export class CatchUpProbe {
  readonly #shard: number;
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #progress: ShardProgress;
  readonly #log: Logger;
  readonly #hooks: CatchUpProbeHooks;
  #probing = false;
  /** Processed sequence last seen while events waited, since when, and when last looked at (stall detection). */
  #stallSeq = -1;
  #stallSince = 0;
  #stallSeenAt = -Infinity;

  constructor(
    shard: number,
    nc: NatsConnection,
    jsm: JetStreamManager,
    progress: ShardProgress,
    log: Logger,
    hooks: CatchUpProbeHooks,
  ) {
    this.#shard = shard;
    this.#nc = nc;
    this.#jsm = jsm;
    this.#progress = progress;
    this.#log = log;
    this.#hooks = hooks;
  }

  /** Starts probing unless a probe runs already; it runs while reads wait. */
  kick(): void {
    if (this.#probing || !this.#hooks.running()) return;
    this.#probing = true;
    this.#loop()
      .catch((err: unknown) => this.#log.warn({ err, shard: this.#shard }, "catch-up probe failed"))
      .finally(() => {
        this.#probing = false;
        if (this.#hooks.running() && this.#hooks.minNeed() !== undefined) setTimeout(() => this.kick(), 50).unref();
      });
  }

  /**
   * One round of the proof with no read waiting: moves the shard's confirmed sequence
   * up to the stream's last one when none of its events lies in between, so an idle
   * shard's checkpoint keeps up with the log (a bounded log must never pass it).
   */
  async confirmIdle(): Promise<void> {
    const p = this.#progress;
    const last = await this.#lastSeq();
    const next = await nextShardEventSeq(this.#nc, this.#shard, p.confirmedSeq + 1);
    if (this.#hooks.running() && p.caughtUp(next === undefined ? last : Math.min(last, next - 1)))
      this.#hooks.caughtUp();
  }

  /**
   * The stream's last sequence. The proof skips what the log no longer holds, so a log
   * that dropped sequences after the confirmed one marks the shard first: the skip is
   * then never silent.
   */
  async #lastSeq(): Promise<number> {
    const { first_seq, last_seq } = (await this.#jsm.streams.info(EVENTS_STREAM)).state;
    const confirmed = this.#progress.confirmedSeq;
    if (first_seq > confirmed + 1) await this.#hooks.gap(confirmed, first_seq);
    return last_seq;
  }

  async #loop(): Promise<void> {
    const p = this.#progress;
    for (let need = this.#hooks.minNeed(); need !== undefined && this.#hooks.running(); need = this.#hooks.minNeed()) {
      const last = await this.#lastSeq();
      const next = await nextShardEventSeq(this.#nc, this.#shard, p.confirmedSeq + 1);
      // Stall time runs while events of this shard wait and nothing is processed, across
      // probes: reads that time out and are retried leave short gaps between probes, and
      // restarting the clock in each gap would never let it reach STALL_MS. An idle spell
      // (nothing waiting, or no probe for a while) starts it afresh.
      const now = performance.now();
      if (next === undefined || p.processedSeq !== this.#stallSeq || now - this.#stallSeenAt > STALL_MS) {
        this.#stallSeq = p.processedSeq;
        this.#stallSince = now;
      }
      this.#stallSeenAt = now;
      if (next !== undefined && now - this.#stallSince > STALL_MS) {
        // The stream holds events this shard has not seen, and its consumer has
        // delivered nothing for a while: recreate it.
        this.#log.warn({ shard: this.#shard, at: p.processedSeq, next }, "shard consumer stalled; recreating it");
        this.#stallSince = performance.now();
        this.#hooks.stalled();
      }
      if (p.caughtUp(next === undefined ? last : Math.min(last, next - 1))) this.#hooks.caughtUp();
      const first = this.#hooks.minNeed();
      if (first === undefined || first > last) return; // beyond the stream: they time out
      // Events of this shard ≤ need are still on their way: let the consumer work.
      const seq = p.processedSeq;
      const target = Math.min(first, next ?? first);
      await p.until(() => !this.#hooks.running() || (p.processedSeq > seq && p.processedSeq >= target), 100);
    }
  }
}
