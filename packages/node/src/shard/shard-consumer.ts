import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { backoffMs, shardEventFilter, sleep } from "@tally/core";
import { EVENTS_STREAM } from "../names.js";
import { stopOnMissedHeartbeats } from "../nats/consumer-watchdog.js";
import { turnBudget } from "../turn-budget.js";

/** What a {@link ShardConsumer} needs from its shard. */
export interface ShardConsumerHooks {
  /** Sequence to (re)start from: the one after the last confirmed. */
  nextSeq(): number;
  /** Handles one event; a promise when it must be awaited before the next (a dead letter). */
  handle(m: JsMsg): Promise<void> | undefined;
  /** False once the shard stops or the connection has closed: the loop ends and is not reopened. */
  active(): boolean;
}

/**
 * Consumer supervision for one shard: an ordered consumer filtered on the shard's
 * events, read in a loop; if it gives up (a long JetStream outage, missed
 * heartbeats, or {@link recreate} after a stall) it is reopened from the next
 * unconfirmed sequence, with backoff.
 */
export class ShardConsumer {
  readonly #shard: number;
  readonly #js: JetStreamClient;
  readonly #pullBatch: number;
  readonly #log: Logger;
  readonly #hooks: ShardConsumerHooks;
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;
  /** False while the consumer is being reopened. */
  healthy = true;

  constructor(shard: number, js: JetStreamClient, pullBatch: number, log: Logger, hooks: ShardConsumerHooks) {
    this.#shard = shard;
    this.#js = js;
    this.#pullBatch = pullBatch;
    this.#log = log;
    this.#hooks = hooks;
  }

  /** Opens the consumer from `hooks.nextSeq()`. */
  async open(): Promise<void> {
    const consumer = await this.#js.consumers.get(EVENTS_STREAM, {
      filter_subjects: shardEventFilter(this.#shard),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.#hooks.nextSeq(),
    });
    // Short pulls: a server lost under the consumer is noticed (missed heartbeats,
    // every 2.5 s) and the ordered consumer recreated on another within seconds.
    const messages = await consumer.consume({ max_messages: this.#pullBatch, expires: 5000 });
    stopOnMissedHeartbeats(messages, (count) =>
      this.#log.warn({ shard: this.#shard, count }, "shard consumer missed heartbeats; recreating it"),
    );
    this.#messages = messages;
  }

  /** Starts the supervised loop over the opened consumer. */
  start(): void {
    this.#loop = this.#supervise();
  }

  /** Ends the current consumer; the supervisor opens a fresh one (used when it stalls). */
  recreate(): void {
    this.#messages?.stop();
  }

  /** Stops reading and waits for the loop to end (the event in hand is finished first). */
  async stop(): Promise<void> {
    // stop(), not close(): close() waits for an iteration that may never have begun.
    this.#messages?.stop();
    await this.#loop;
  }

  async #supervise(): Promise<void> {
    for (let attempt = 0; this.#hooks.active(); attempt++) {
      // Each consumer is iterated once: a stopped one is dropped, never read again.
      if (this.#messages) await this.#run(this.#messages);
      this.#messages = undefined;
      if (!this.#hooks.active()) return;
      this.healthy = false;
      this.#log.error({ shard: this.#shard, attempt }, "shard consumer stopped; reopening it");
      await sleep(backoffMs(attempt));
      if (!this.#hooks.active()) return;
      try {
        await this.open();
        this.healthy = true;
        attempt = -1;
      } catch (err) {
        if (this.#hooks.active()) this.#log.error({ err, shard: this.#shard }, "reopening the shard consumer failed");
      }
    }
    // Stopped while a consumer was being opened: stop that one too.
    this.#messages?.stop();
  }

  async #run(messages: ConsumerMessages): Promise<void> {
    // Buffered messages would otherwise be applied in one go of microtasks: the node's
    // loops share a budget per turn of the event loop, so reads and renewals get theirs.
    const gate = turnBudget.gate();
    try {
      for await (const m of messages) {
        for (let wait = gate.pass(); wait; wait = gate.pass()) {
          await wait;
          // Stopped while waiting: `m` is left for whoever consumes from the next unconfirmed sequence.
          if (!this.#hooks.active()) return;
        }
        const pending = this.#hooks.handle(m);
        if (pending) await pending;
        if (!this.#hooks.active()) break;
      }
    } catch (err) {
      if (this.#hooks.active()) this.#log.error({ err, shard: this.#shard }, "shard consumer failed");
    }
  }
}
