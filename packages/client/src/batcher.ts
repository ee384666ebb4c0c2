import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { encodeEvent } from "@tally/core";
import { Aggregate } from "./aggregate.js";
import { ClientError, ClientErrorCode } from "./errors.js";
import { isClosing } from "./nats-errors.js";
import type { Publisher } from "./publisher.js";

/** Options of {@link TallyClient.batcher}. */
export interface BatcherOptions {
  /** Seal and publish the open batch this long after its first add, in ms. @default 100 */
  flushIntervalMs?: number;
  /**
   * Seal and publish a batch as soon as it holds this many distinct keys, unless the one
   * before is still publishing and was sealed less than `flushIntervalMs` ago: then it
   * grows until that one is acked or the interval has passed. @default 20000
   */
  maxKeys?: number;
  /** `add()` returns a pending promise while more keys than this are open or unacked. @default 100000 */
  maxPendingKeys?: number;
}

/** Totals of a batcher, for a summary. */
export interface BatcherStats {
  /** Events added (`add` calls accepted). */
  events: number;
  /** Keys published and acked (one publish each). */
  published: number;
  /** Publish attempts that were retries (same message id). */
  retries: number;
}

/**
 * Pre-aggregating publisher: many `add`s of one (ns, name) in one minute become one
 * acked publish of their sum. See {@link TallyClient.batcher}.
 */
export interface Batcher {
  /**
   * Adds `delta` (default 1) for (ns, name) at event time `ts` (default now). Validates
   * at once: throws `EventError` for a bad ns, name, delta or time, `ClientError`
   * `BATCHER_CLOSED` after `close()`, `CONNECTION_CLOSED` once the connection is closed.
   * Resolves at once unless more than `maxPendingKeys` keys are unacked; then it resolves
   * when they drop below (or rejects with the failure that stopped them: the event itself
   * is kept, and `flush()` publishes it).
   */
  add(ns: string, name: string, delta?: number, ts?: number | Date | string): Promise<void>;
  /**
   * Seals the open batch, republishes keys an earlier flush failed to get acked (same
   * message ids), and waits until every batch sealed so far is settled. Resolves with the
   * highest stream sequence acked so far (pass it as `minSeq`); rejects with a `ClientError`
   * saying how many events are not acked (code `CONNECTION_CLOSED` when the connection is
   * closed, else the publish failure's code, e.g. `TIMEOUT`); a later flush() retries them.
   */
  flush(): Promise<{ seq: number }>;
  /** Stops the timer, refuses further adds, then flush(). Idempotent. */
  close(): Promise<{ seq: number }>;
  /**
   * True while more than `maxPendingKeys` keys are open or unacked: the promise `add()`
   * returns then waits (or rejects). A producer loop that calls `add()` millions of times
   * can await only then, and skip a microtask per add:
   * `const added = b.add(ns, name); if (b.full) await added;`
   */
  readonly full: boolean;
  /** Highest stream sequence acked so far (0 before the first ack). */
  readonly lastSeq: number;
  /** Totals so far (a snapshot). */
  readonly stats: BatcherStats;
}

/** One key of a sealed batch: its message id is fixed, so every retry of it dedupes. */
interface SealedKey {
  subject: string;
  body: Uint8Array;
  msgId: string;
  events: number;
}

/** Resolved {@link BatcherOptions}. */
interface BatcherSettings {
  flushIntervalMs: number;
  maxKeys: number;
  maxPendingKeys: number;
}

const RESOLVED = Promise.resolve();

/**
 * Publishing loops per batch: each has one publish in flight. More than the client's
 * window (`maxInFlight`, 256 by default) only wait for a slot.
 */
const PUBLISH_LOOPS = 256;

/** Fills defaults and rejects bad values, naming the option. */
export function resolveBatcherOptions(opts: BatcherOptions = {}): BatcherSettings {
  const { flushIntervalMs = 100, maxKeys = 20_000, maxPendingKeys = 100_000 } = opts;
  const check = (name: string, v: number, min: number) => {
    if (!Number.isSafeInteger(v) || v < min) {
      throw new ClientError(ClientErrorCode.BAD_OPTION, `batcher option ${name} must be an integer ≥ ${min}, got ${v}`);
    }
  };
  check("flushIntervalMs", flushIntervalMs, 1);
  check("maxKeys", maxKeys, 1);
  check("maxPendingKeys", maxPendingKeys, maxKeys);
  return { flushIntervalMs, maxKeys, maxPendingKeys };
}

/** Creates a {@link Batcher} publishing through `publisher` (the client's window and retries). */
export function createBatcher(nc: NatsConnection, publisher: Publisher, opts?: BatcherOptions): Batcher {
  return new BatcherImpl(nc, publisher, resolveBatcherOptions(opts));
}

class BatcherImpl implements Batcher {
  readonly #nc: NatsConnection;
  readonly #publisher: Publisher;
  readonly #settings: BatcherSettings;
  #open = new Aggregate();
  #timer: NodeJS.Timeout | undefined;
  // The timer fired (or maxKeys was reached) while batches were publishing: seal once
  // they settle, so a slow server makes batches bigger instead of queueing more of them.
  #due = false;
  // When the last batch was sealed (performance.now()): maxKeys seals no sooner than
  // flushIntervalMs after it while a batch is publishing.
  #sealedAt = Number.NEGATIVE_INFINITY;
  // Each publishing batch, resolving with its events that failed (never rejecting).
  readonly #publishing = new Set<Promise<number>>();
  #unackedKeys = 0;
  #failed: SealedKey[] = [];
  #failure: ClientError | undefined;
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #status: "open" | "closed" = "open";
  #closing: Promise<{ seq: number }> | undefined;
  #connectionClosed = false;
  #lastSeq = 0;
  readonly #stats: BatcherStats = { events: 0, published: 0, retries: 0 };

  constructor(nc: NatsConnection, publisher: Publisher, settings: BatcherSettings) {
    this.#nc = nc;
    this.#publisher = publisher;
    this.#settings = settings;
    void nc.closed().then(() => this.#onConnectionClosed());
  }

  get full(): boolean {
    return this.#pendingKeys() > this.#settings.maxPendingKeys;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  get stats(): BatcherStats {
    return { ...this.#stats };
  }

  add(ns: string, name: string, delta = 1, ts?: number | Date | string): Promise<void> {
    if (this.#status !== "open") {
      throw new ClientError(ClientErrorCode.BATCHER_CLOSED, "add() after the batcher's close()");
    }
    if (this.#connectionClosed || isClosing(this.#nc)) throw this.#closedError();
    this.#open.add(ns, name, delta, ts);
    this.#stats.events++;
    if (this.#open.keys >= this.#settings.maxKeys) this.#onMaxKeys();
    else this.#timer ??= setTimeout(() => this.#onTimer(), this.#settings.flushIntervalMs);
    if (this.#pendingKeys() <= this.#settings.maxPendingKeys) return RESOLVED;
    const wait =
      this.#failed.length > 0
        ? Promise.reject(this.#failedError())
        : new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    // No seal here: acks bring the sealed keys down, and a deferred seal comes within
    // flushIntervalMs, so a waiter never waits on the open batch for longer.
    // A caller that does not await add() must not crash on an unhandled rejection: the
    // failure is not lost, flush() reports it. A caller that awaits still gets it.
    wait.catch(() => undefined);
    return wait;
  }

  async flush(): Promise<{ seq: number }> {
    if (!this.#connectionClosed && !isClosing(this.#nc)) {
      if (this.#failed.length > 0) {
        const retry = this.#failed;
        this.#failed = [];
        this.#failure = undefined;
        this.#publishKeys(retry);
      }
      this.#seal();
    }
    // On a closed connection the batches in flight fail at once; waiting for them makes
    // the count of unacked events complete.
    const failedEvents = (await Promise.all([...this.#publishing])).reduce((a, b) => a + b, 0);
    if (this.#connectionClosed || isClosing(this.#nc)) throw this.#closedError();
    if (failedEvents > 0 || this.#failed.length > 0) throw this.#failedError();
    return { seq: this.#lastSeq };
  }

  close(): Promise<{ seq: number }> {
    this.#status = "closed";
    this.#clearTimer();
    this.#closing ??= this.flush();
    return this.#closing;
  }

  #pendingKeys(): number {
    return this.#open.keys + this.#unackedKeys + this.#failed.length;
  }

  /** The flush interval passed: seal now, or once the batches publishing settle. */
  #onTimer(): void {
    this.#timer = undefined;
    if (this.#publishing.size > 0) this.#due = true;
    else this.#seal();
  }

  /**
   * The open batch holds maxKeys keys: seal it, unless a batch is publishing and the last
   * was sealed less than flushIntervalMs ago (caps publishing churn when more keys are
   * busy than maxKeys: the batch grows, and sums more adds per key, instead). Then it is
   * sealed when the batches publishing settle or the interval has passed, whichever first.
   */
  #onMaxKeys(): void {
    if (this.#due && this.#timer !== undefined) return; // deferred already, the timer armed
    const wait = this.#sealedAt + this.#settings.flushIntervalMs - performance.now();
    if (this.#publishing.size === 0 || wait <= 0) {
      this.#seal();
      return;
    }
    this.#due = true;
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#seal();
    }, wait);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Takes the open keys out as a batch, gives each its message id, and publishes them. */
  #seal(): void {
    this.#clearTimer();
    this.#due = false;
    if (this.#open.keys === 0) return;
    this.#sealedAt = performance.now();
    const batchId = randomUUID();
    const keys = this.#open.drain().map((e, i): SealedKey => ({
      subject: e.subject,
      body: encodeEvent(e.delta, e.minute),
      msgId: `${batchId}-${i}`,
      events: e.events,
    }));
    this.#publishKeys(keys);
  }

  #publishKeys(keys: SealedKey[]): void {
    this.#unackedKeys += keys.length;
    // A few publishing loops take the keys in order, instead of a publish started per key:
    // thousands of publishes waiting for a slot of the client's window cost CPU (promises,
    // the window's queue) and memory while they wait.
    let next = 0;
    let failedEvents = 0;
    const publishLoop = async () => {
      while (next < keys.length) failedEvents += await this.#publishKey(keys[next++]!);
    };
    const loops = Array.from({ length: Math.min(keys.length, PUBLISH_LOOPS) }, publishLoop);
    const run = Promise.all(loops).then(() => failedEvents);
    this.#publishing.add(run);
    void run.then(() => {
      this.#publishing.delete(run);
      if (this.#due && this.#publishing.size === 0 && !this.#connectionClosed) this.#seal();
    });
  }

  /** Publishes one key until acked or finally failed; resolves with its events that failed. */
  async #publishKey(key: SealedKey): Promise<number> {
    try {
      const ack = await this.#publisher.publish(key.subject, key.body, key.msgId, {
        onRetry: () => this.#stats.retries++,
      });
      if (ack.seq > this.#lastSeq) this.#lastSeq = ack.seq;
      this.#stats.published++;
      return 0;
    } catch (err) {
      this.#failed.push(key);
      this.#failure =
        err instanceof ClientError ? err : new ClientError(ClientErrorCode.PUBLISH_FAILED, String(err), { cause: err });
      return key.events;
    } finally {
      this.#unackedKeys--;
      this.#wake();
    }
  }

  /** Settles add()s waiting for room: rejected once a key failed, resolved once below the bound. */
  #wake(): void {
    if (this.#waiters.length === 0) return;
    if (this.#failure !== undefined || this.#connectionClosed) {
      const err = this.#connectionClosed ? this.#closedError() : this.#failedError();
      for (const w of this.#waiters.splice(0)) w.reject(err);
    } else if (this.#pendingKeys() <= this.#settings.maxPendingKeys) {
      for (const w of this.#waiters.splice(0)) w.resolve();
    }
  }

  #onConnectionClosed(): void {
    this.#connectionClosed = true;
    this.#clearTimer();
    this.#due = false;
    this.#wake();
  }

  #unackedEvents(): number {
    return this.#open.events + this.#failed.reduce((n, k) => n + k.events, 0);
  }

  #closedError(): ClientError {
    return new ClientError(
      ClientErrorCode.CONNECTION_CLOSED,
      `the NATS connection is closed: ${this.#unackedEvents()} events added to the batcher were not acked`,
      { cause: this.#failure },
    );
  }

  #failedError(): ClientError {
    const f = this.#failure;
    if (f?.code === ClientErrorCode.CONNECTION_CLOSED) return this.#closedError();
    return new ClientError(
      f?.code ?? ClientErrorCode.PUBLISH_FAILED,
      `${this.#unackedEvents()} events added to the batcher are not acked (${this.#failed.length} keys): ${f?.message ?? "publish failed"}; flush() again to retry them with the same message ids`,
      { cause: f, retryable: f?.retryable ?? false },
    );
  }
}
