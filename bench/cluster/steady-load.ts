/** Steady load: acked publishes at a fixed rate, with the ground truth of what was acked. */
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import { tallyClient } from "@tally/client";
import { waitFor } from "@tally/testing";
import { halted } from "../lib/cleanup.js";
import { nowMs } from "../lib/time.js";
import { LOAD_KEYS, LOAD_NS, RATE, WINDOW } from "./options.js";

const EMPTY = new Uint8Array(0);

/**
 * `--rate` acked publishes per second, round-robin over `k0 … k<L-1>` in the load namespace,
 * at most `WINDOW` in flight; stops by itself at cleanup.
 */
export class SteadyLoad {
  sent = 0;
  acked = 0;
  errors = 0;
  /** Highest acked stream sequence. */
  lastSeq = 0;
  readonly sentPerKey: number[];
  readonly ackedPerKey: number[];
  /** Acked sequences of the probe keys, to know what a `minSeq` read of one must count. */
  readonly seqsOf = new Map<string, number[]>();
  readonly #js: JetStreamClient;
  readonly #subjects: string[];
  readonly #names: string[];
  #timer: NodeJS.Timeout | undefined;
  #inflight = 0;
  #t0 = 0;

  constructor(js: JetStreamClient, probeKeys: string[]) {
    this.#js = js;
    this.#names = Array.from({ length: LOAD_KEYS }, (_, k) => `k${k}`);
    this.#subjects = this.#names.map((k) => `count.${LOAD_NS}.${k}`);
    this.sentPerKey = new Array<number>(LOAD_KEYS).fill(0);
    this.ackedPerKey = new Array<number>(LOAD_KEYS).fill(0);
    for (const k of probeKeys) this.seqsOf.set(k, []);
  }

  start(): this {
    this.#t0 = nowMs();
    this.#timer = setInterval(() => this.#tick(), 10);
    return this;
  }

  #tick(): void {
    if (halted()) {
      clearInterval(this.#timer);
      return;
    }
    const due = Math.floor(((nowMs() - this.#t0) / 1000) * RATE);
    while (this.sent < due && this.#inflight < WINDOW) {
      const k = this.sent % LOAD_KEYS;
      this.sent++;
      this.sentPerKey[k]!++;
      this.#inflight++;
      this.#js.publish(this.#subjects[k]!, EMPTY).then(
        (ack: PubAck) => {
          this.#inflight--;
          this.acked++;
          this.ackedPerKey[k]!++;
          if (ack.seq > this.lastSeq) this.lastSeq = ack.seq;
          this.seqsOf.get(this.#names[k]!)?.push(ack.seq);
        },
        () => {
          this.#inflight--;
          this.errors++;
        },
      );
    }
  }

  /** Acked events of a probe key with sequence ≤ seq: what a `minSeq = seq` read must count at least. */
  ackedUpTo(name: string, seq: number): number {
    let n = 0;
    for (const s of this.seqsOf.get(name) ?? []) if (s <= seq) n++;
    return n;
  }

  sentOf(name: string): number {
    return this.sentPerKey[Number(name.slice(1))] ?? 0;
  }

  /** Stops publishing and waits for every publish in flight to settle. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await waitFor(() => this.#inflight === 0, { timeoutMs: 30_000, message: "load: in-flight publishes settled" });
  }
}

/**
 * Every counter of a stopped load read back with `minSeq` = its last acked sequence: each must
 * equal its acked publishes (with publish errors: lie between acked and sent).
 */
export async function checkLoadExact(nc: NatsConnection, load: SteadyLoad) {
  const finalSeq = load.lastSeq;
  const checkClient = tallyClient(nc, { retryDeadlineMs: 60_000 });
  let wrongKeys = 0;
  let sum = 0;
  for (let k = 0; k < LOAD_KEYS; k += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, LOAD_KEYS - k) }, async (_, i) => {
        const r = await checkClient.get(LOAD_NS, `k${k + i}`, { minSeq: finalSeq });
        sum += r.value;
        const ok =
          load.errors === 0
            ? r.value === load.ackedPerKey[k + i]
            : r.value >= load.ackedPerKey[k + i]! && r.value <= load.sentPerKey[k + i]!;
        if (!ok) wrongKeys++;
      }),
    );
  }
  return {
    acked: load.acked,
    publishErrors: load.errors,
    sum,
    wrongKeys,
    exact: wrongKeys === 0 && (load.errors > 0 || sum === load.acked),
  };
}
