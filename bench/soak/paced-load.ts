/**
 * A paced load of acked publishes, each event with a `ts` body, round-robin over counters,
 * keeping the ground truth of what was acked per counter.
 */
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import { encodeEventJson } from "@tally/core";
import { halted } from "../lib/cleanup.js";
import { sleep } from "../lib/time.js";

/** Options of {@link PacedLoad}. */
export interface PacedLoadOptions {
  /** Subjects of the counters, in order; counter `i` is `subjects[i]`. */
  subjects: string[];
  /** Acked publishes per real second. */
  rate: number;
  /** Most publishes in flight; the load falls behind its pace rather than exceed it. */
  window: number;
  /** Event time of the next event. */
  ts: () => number;
  /** The first counter to publish to. @default 0 */
  firstCounter?: number;
}

/** Publishes at a steady rate until stopped; `acked[i]` is what counter `i` must count. */
export class PacedLoad {
  readonly acked: Uint32Array;
  sent = 0;
  ackedTotal = 0;
  errors = 0;
  /** The first failed publish's error, for the report. */
  firstError: string | undefined;
  lastSeq = 0;
  #inflight = 0;
  #stop = false;
  #loop: Promise<void> | undefined;
  readonly #js: JetStreamClient;
  readonly #o: PacedLoadOptions;

  constructor(js: JetStreamClient, opts: PacedLoadOptions) {
    this.#js = js;
    this.#o = opts;
    this.acked = new Uint32Array(opts.subjects.length);
  }

  start(): this {
    this.#loop = this.#run();
    return this;
  }

  async #run(): Promise<void> {
    const { subjects, rate, window, ts } = this.#o;
    const t0 = performance.now();
    let next = this.#o.firstCounter ?? 0;
    while (!this.#stop && !halted()) {
      const due = Math.floor(((performance.now() - t0) / 1000) * rate);
      while (this.sent < due && this.#inflight < window) {
        const c = next;
        next = (next + 1) % subjects.length;
        this.sent++;
        this.#inflight++;
        this.#js.publish(subjects[c]!, encodeEventJson(1, ts())).then(
          (ack: PubAck) => {
            this.#inflight--;
            this.ackedTotal++;
            this.acked[c]!++;
            if (ack.seq > this.lastSeq) this.lastSeq = ack.seq;
          },
          (err: unknown) => {
            this.#inflight--;
            this.errors++;
            this.firstError ??= String(err);
          },
        );
      }
      await sleep(10);
    }
    // Every publish settles (acked or failed) before the truth is read.
    while (this.#inflight > 0) await sleep(10);
  }

  /** Stops publishing; resolves once every publish in flight has settled. */
  async stop(): Promise<void> {
    this.#stop = true;
    await this.#loop;
  }
}
