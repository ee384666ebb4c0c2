import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  encodeEvent,
  encodeName,
  eventSubject,
  readSubject,
  type ListReply,
  type Period,
  type TopReply,
  type SeriesReply,
  type ValueReply,
} from "@tally/core";
import { createBatcher, type Batcher, type BatcherOptions } from "./batcher.js";
import { ClientError, ClientErrorCode } from "./errors.js";
import { list, listPage, top, type ListPageQuery, type ListQuery, type TopQuery } from "./namespace-reads.js";
import { Publisher } from "./publisher.js";
import { requestBody, Requester, timeArg } from "./reads.js";
import type { GetQuery, IncOptions, IncrementOptions, IncResult, SeriesQuery, TallyClientOptions } from "./types.js";

/**
 * Typed access to a Tally cluster over an existing NATS connection. Every call on a
 * closed or draining connection fails with `CONNECTION_CLOSED` and is never retried;
 * retry loops (publishes, reads, batchers) stop when the connection closes.
 */
export interface TallyClient {
  /**
   * Publishes one event and waits for JetStream's ack: one attempt, never retried (see
   * {@link increment} for retries). Names are percent-encoded. A bad delta or time
   * rejects with an `EventError` before anything is published.
   */
  inc(ns: string, name: string, opts?: IncOptions): Promise<IncResult>;
  /**
   * Publishes one event under the client's bounded in-flight window (`maxInFlight`):
   * start many without awaiting each. The message id (a random UUID unless given) stays
   * the same across retries of transient failures within `publishRetryDeadlineMs`, so
   * the event counts once. Resolves with its stream sequence (a `minSeq` for reads).
   * Throws at once (`EventError`, `ClientError` `BAD_MSG_ID`) for a bad ns, name, delta,
   * time or message id.
   */
  increment(ns: string, name: string, delta?: number, opts?: IncrementOptions): Promise<number>;
  /** A pre-aggregating batcher publishing through this client's window and retries. */
  batcher(opts?: BatcherOptions): Batcher;
  /** Reads one value. */
  get(ns: string, name: string, query?: GetQuery): Promise<ValueReply>;
  /** Reads a zero-filled series. */
  series(ns: string, name: string, query: SeriesQuery): Promise<SeriesReply>;
  /**
   * The namespace's top counters in one bucket, value descending. A partial reply (a
   * shard did not answer in time) is returned as it is, with `partial: true` and
   * `missingShards`. Throws at once for a bad ns or period.
   */
  top(ns: string, period: Period, query?: TopQuery): Promise<TopReply>;
  /** One page of the names with a value in one bucket, partial or not. Throws at once for a bad ns or period. */
  listPage(ns: string, period: Period, query?: ListPageQuery): Promise<ListReply>;
  /**
   * Every name with a value in one bucket, over all pages (page size `limit`). A page
   * that stays partial past the retry deadline throws `ClientError` `PARTIAL`
   * (retryable, with `missingShards`). Throws at once for a bad ns or period.
   */
  list(ns: string, period: Period, query?: ListQuery): AsyncIterableIterator<string>;
}

/**
 * Creates a client.
 *
 * @example
 * ```ts
 * const tally = tallyClient(nc);
 * const seq = await tally.increment("web", "home");
 * const { value } = await tally.get("web", "home", { period: "day", minSeq: seq });
 * ```
 * @throws {@link ClientError} `BAD_OPTION` for an option out of range
 */
export function tallyClient(nc: NatsConnection, opts: TallyClientOptions = {}): TallyClient {
  return new Client(nc, resolveClientOptions(opts));
}

/** {@link TallyClientOptions} with defaults filled in. */
export type ResolvedClientOptions = Required<TallyClientOptions>;

/**
 * Fills defaults and rejects bad values, naming the option.
 * @throws {@link ClientError} `BAD_OPTION`
 */
export function resolveClientOptions(opts: TallyClientOptions = {}): ResolvedClientOptions {
  const {
    requestTimeoutMs = 6000,
    retryDeadlineMs = 15_000,
    maxInFlight = 256,
    publishTimeoutMs = 5000,
    publishRetryDeadlineMs = 15_000,
  } = opts;
  const check = (name: string, v: number, min: number) => {
    if (!Number.isSafeInteger(v) || v < min) {
      throw new ClientError(ClientErrorCode.BAD_OPTION, `client option ${name} must be an integer ≥ ${min}, got ${v}`);
    }
  };
  check("requestTimeoutMs", requestTimeoutMs, 1);
  check("retryDeadlineMs", retryDeadlineMs, 0);
  check("maxInFlight", maxInFlight, 1);
  check("publishTimeoutMs", publishTimeoutMs, 1);
  check("publishRetryDeadlineMs", publishRetryDeadlineMs, 0);
  return { requestTimeoutMs, retryDeadlineMs, maxInFlight, publishTimeoutMs, publishRetryDeadlineMs };
}

class Client implements TallyClient {
  readonly #nc: NatsConnection;
  readonly #publisher: Publisher;
  readonly #requester: Requester;

  constructor(nc: NatsConnection, opts: ResolvedClientOptions) {
    this.#nc = nc;
    this.#publisher = new Publisher(nc, opts);
    this.#requester = new Requester(nc, opts);
  }

  async inc(ns: string, name: string, opts: IncOptions = {}): Promise<IncResult> {
    const subject = eventSubject(ns, encodeName(name));
    // Encoding validates, so a bad delta or time is an error now, not an acked event
    // dead-lettered later.
    const body = encodeEvent(opts.delta, opts.ts);
    const ack = await this.#publisher.publish(subject, body, opts.msgId || undefined, { retryDeadlineMs: 0 });
    return { seq: ack.seq, duplicate: ack.duplicate };
  }

  increment(ns: string, name: string, delta?: number, opts: IncrementOptions = {}): Promise<number> {
    const subject = eventSubject(ns, encodeName(name));
    const body = encodeEvent(delta, opts.ts);
    const msgId = opts.msgId ?? randomUUID();
    checkMsgId(msgId);
    return this.#publisher.publish(subject, body, msgId).then((ack) => ack.seq);
  }

  batcher(opts?: BatcherOptions): Batcher {
    return createBatcher(this.#nc, this.#publisher, opts);
  }

  get(ns: string, name: string, query: GetQuery = {}): Promise<ValueReply> {
    const body = requestBody({
      period: query.period,
      at: query.at === undefined ? undefined : timeArg(query.at),
      minSeq: query.minSeq,
    });
    return this.#read<ValueReply>(ns, name, body, query.nameEncoded === true);
  }

  series(ns: string, name: string, query: SeriesQuery): Promise<SeriesReply> {
    const body = requestBody({
      period: query.period,
      from: timeArg(query.from),
      to: timeArg(query.to),
      minSeq: query.minSeq,
    });
    return this.#read<SeriesReply>(ns, name, body, query.nameEncoded === true);
  }

  top(ns: string, period: Period, query?: TopQuery): Promise<TopReply> {
    return top(this.#requester, ns, period, query);
  }

  listPage(ns: string, period: Period, query?: ListPageQuery): Promise<ListReply> {
    return listPage(this.#requester, ns, period, query);
  }

  list(ns: string, period: Period, query?: ListQuery): AsyncIterableIterator<string> {
    return list(this.#requester, ns, period, query);
  }

  /** A point or series read; the reply names the counter as the caller did. */
  async #read<T>(ns: string, rawName: string, body: string, encoded: boolean): Promise<T> {
    const subject = readSubject(ns, encoded ? rawName : encodeName(rawName));
    const value = await this.#requester.request(subject, body);
    return { ...value, name: rawName } as T;
  }
}

/** A `Nats-Msg-Id` header value: non-empty, one line. */
function checkMsgId(msgId: unknown): void {
  if (typeof msgId !== "string" || msgId === "" || /[\r\n]/.test(msgId)) {
    throw new ClientError(
      ClientErrorCode.BAD_MSG_ID,
      `msgId ${JSON.stringify(msgId)} must be a non-empty string without line breaks`,
    );
  }
}
