import type { NatsConnection } from "@nats-io/transport-node";
import { backoffMs, sleep } from "@tally/core";
import { AckPublisher } from "./ack-publish.js";
import { ClientError, ClientErrorCode } from "./errors.js";
import { closedError, isClosing, publishFailure } from "./nats-errors.js";
import type { PubAck } from "./pub-ack.js";
import { Semaphore } from "./semaphore.js";

/** Settings of a {@link Publisher}, already checked. */
export interface PublisherSettings {
  /** Publishes awaiting their ack at once; more wait for a slot. */
  maxInFlight: number;
  /** How long one attempt waits for its ack, in ms. */
  publishTimeoutMs: number;
  /** How long a publish keeps retrying transient failures, in ms (0: one attempt). */
  publishRetryDeadlineMs: number;
}

/** Per-call overrides of {@link Publisher.publish}. */
export interface PublishCall {
  /** @default the publisher's publishRetryDeadlineMs */
  retryDeadlineMs?: number;
  /** Called before each retry (for a batcher's stats). */
  onRetry?: (err: ClientError) => void;
}

/** Backoff between publish retries: 50 ms doubling up to 1 s. */
const PUBLISH_BACKOFF = { baseMs: 50, maxMs: 1000 } as const;

/**
 * Acked JetStream publishing (one {@link AckPublisher} attempt at a time) under a bounded
 * in-flight window. A transient failure (no
 * ack in time, no responders while a server restarts, the connection lost) is retried
 * with the same `Nats-Msg-Id` until the retry deadline, so an event whose ack was lost
 * counts once (JetStream drops the duplicate within its de-duplication window). A closed
 * or draining connection ends every publish at once with `CONNECTION_CLOSED`.
 */
export class Publisher {
  readonly #nc: NatsConnection;
  readonly #acks: AckPublisher;
  readonly #window: Semaphore;
  readonly #settings: PublisherSettings;

  constructor(nc: NatsConnection, settings: PublisherSettings) {
    this.#nc = nc;
    this.#acks = new AckPublisher(nc, settings.publishTimeoutMs);
    this.#window = new Semaphore(settings.maxInFlight);
    this.#settings = settings;
  }

  /**
   * Publishes `body` on `subject` with message id `msgId` (none: the publish is never
   * retried, as a retry could count twice) and resolves with JetStream's
   * ack; rejects with a {@link ClientError} (the last failure once the deadline passed).
   * The retry deadline starts with the first attempt, not while waiting for a slot.
   */
  async publish(subject: string, body: Uint8Array, msgId: string | undefined, call: PublishCall = {}): Promise<PubAck> {
    if (isClosing(this.#nc)) throw closedError(subject, undefined);
    if (!this.#window.tryAcquire()) await this.#window.acquire();
    try {
      const retryFor = msgId === undefined ? 0 : (call.retryDeadlineMs ?? this.#settings.publishRetryDeadlineMs);
      const deadline = Date.now() + retryFor;
      for (let attempt = 0; ; attempt++) {
        if (isClosing(this.#nc)) throw closedError(subject, undefined);
        try {
          return await this.#acks.publish(subject, body, msgId);
        } catch (err) {
          if (err instanceof ClientError && err.code === ClientErrorCode.CONNECTION_CLOSED) throw err;
          if (isClosing(this.#nc)) throw closedError(subject, err);
          const failure = publishFailure(subject, err);
          const wait = backoffMs(attempt, PUBLISH_BACKOFF);
          if (!failure.retryable || retryFor === 0 || Date.now() + wait > deadline) throw failure;
          call.onRetry?.(failure);
          await sleep(wait);
        }
      }
    } finally {
      this.#window.release();
    }
  }

  /** Publishes waiting for a slot in the window. */
  get queued(): number {
    return this.#window.waiting;
  }
}
