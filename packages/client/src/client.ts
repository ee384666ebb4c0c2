import { errors, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import {
  backoffMs,
  encodeEvent,
  encodeName,
  ErrorCode,
  eventSubject,
  isRetryableCode,
  readSubject,
  sleep,
  type Period,
  type SeriesReply,
  type ValueReply,
} from "@tally/core";
import { ClientError, ClientErrorCode } from "./errors.js";

/** Options of {@link tallyClient}. */
export interface TallyClientOptions {
  /** Time one read request waits for its reply, in ms. @default 6000 */
  requestTimeoutMs?: number;
  /** Total time a read keeps retrying retryable errors, in ms. @default 15000 */
  retryDeadlineMs?: number;
}

/** Options of {@link TallyClient.inc}. */
export interface IncOptions {
  /** Signed integer added to the counter. @default 1 */
  delta?: number;
  /** Event time (epoch ms, Date or ISO-8601); @default the time JetStream stores it */
  ts?: number | Date | string;
  /** `Nats-Msg-Id`: a retried publish with the same id counts once. */
  msgId?: string;
}

/** The acknowledgement of a counted event. */
export interface IncResult {
  /** Stream sequence of the event; pass it as `minSeq` to read your write. */
  seq: number;
  /** True when JetStream recognised `msgId` as a duplicate (counted once before). */
  duplicate: boolean;
}

/** A point read. */
export interface GetQuery {
  /** @default "all" */
  period?: Period;
  /** A time inside the wanted bucket. @default now */
  at?: number | Date | string;
  /** The reply reflects every event with stream sequence ≤ minSeq. */
  minSeq?: number;
  /** See {@link SeriesQuery.nameEncoded}. @default false */
  nameEncoded?: boolean;
}

/** A series read: every bucket from the one holding `from` to the one holding `to`. */
export interface SeriesQuery {
  period: Exclude<Period, "all">;
  from: number | Date | string;
  to: number | Date | string;
  minSeq?: number;
  /**
   * `name` is already a subject token, exactly as in stored subjects (`example%2Ecom`):
   * sent as it is instead of being percent-encoded again. For tools that read counters
   * found in the event log, whose tokens need not be what `encodeName` makes.
   * @default false
   */
  nameEncoded?: boolean;
}

/** Typed access to a Tally cluster over an existing NATS connection. */
export interface TallyClient {
  /** Publishes one event and waits for JetStream's acknowledgement. Names are percent-encoded. */
  inc(ns: string, name: string, opts?: IncOptions): Promise<IncResult>;
  /** Reads one value. */
  get(ns: string, name: string, query?: GetQuery): Promise<ValueReply>;
  /** Reads a zero-filled series. */
  series(ns: string, name: string, query: SeriesQuery): Promise<SeriesReply>;
}

/**
 * Creates a client. Publishes are pipelined: call `inc` many times without
 * awaiting each one and JetStream acknowledges them as they are stored.
 *
 * @example
 * ```ts
 * const tally = tallyClient(nc);
 * const { seq } = await tally.inc("web", "home");
 * const { value } = await tally.get("web", "home", { period: "day", minSeq: seq });
 * ```
 */
export function tallyClient(nc: NatsConnection, opts: TallyClientOptions = {}): TallyClient {
  return new Client(nc, opts);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Backoff between read retries: 25 ms doubling up to 1 s. */
const READ_BACKOFF = { baseMs: 25, maxMs: 1000 } as const;

class Client implements TallyClient {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #requestTimeoutMs: number;
  readonly #retryDeadlineMs: number;

  constructor(nc: NatsConnection, opts: TallyClientOptions) {
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 6000;
    this.#retryDeadlineMs = opts.retryDeadlineMs ?? 15_000;
  }

  async inc(ns: string, name: string, opts: IncOptions = {}): Promise<IncResult> {
    const subject = eventSubject(ns, encodeName(name));
    // Encoding validates, so a bad delta or time is an error now, not an acked event
    // dead-lettered later.
    const body = encodeEvent(opts.delta, opts.ts);
    if (this.#closing()) throw closedError(subject, undefined);
    try {
      const ack = await this.#js.publish(subject, body, opts.msgId ? { msgID: opts.msgId } : undefined);
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      if (this.#closing() || isClosedError(err)) throw closedError(subject, err);
      if (isNoResponders(err)) {
        throw new ClientError(
          ClientErrorCode.NO_STREAM,
          `no stream stored ${subject}: is the Tally mapping in the NATS server config and has \`tally init\` run?`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  get(ns: string, name: string, query: GetQuery = {}): Promise<ValueReply> {
    const body: Record<string, unknown> = {};
    if (query.period !== undefined) body.period = query.period;
    if (query.at !== undefined) body.at = timeArg(query.at);
    if (query.minSeq !== undefined) body.minSeq = query.minSeq;
    return this.#read<ValueReply>(
      ns,
      name,
      Object.keys(body).length ? JSON.stringify(body) : "",
      query.nameEncoded === true,
    );
  }

  series(ns: string, name: string, query: SeriesQuery): Promise<SeriesReply> {
    const body: Record<string, unknown> = { period: query.period, from: timeArg(query.from), to: timeArg(query.to) };
    if (query.minSeq !== undefined) body.minSeq = query.minSeq;
    return this.#read<SeriesReply>(ns, name, JSON.stringify(body), query.nameEncoded === true);
  }

  /**
   * Requests until a value, a final error, the retry deadline, or the connection closing:
   * a closed (or draining) connection never answers again, so it ends the loop at once.
   */
  async #read<T>(ns: string, rawName: string, body: string, encoded: boolean): Promise<T> {
    const subject = readSubject(ns, encoded ? rawName : encodeName(rawName));
    const data = enc.encode(body);
    const deadline = Date.now() + this.#retryDeadlineMs;
    let last: ClientError | undefined;
    for (let attempt = 0; ; attempt++) {
      if (this.#closing()) throw closedError(subject, last);
      try {
        const reply = await this.#nc.request(subject, data, { timeout: this.#requestTimeoutMs });
        const parsed = parseReply(reply.data);
        if (!("error" in parsed)) return { ...parsed.value, name: rawName } as T;
        last = parsed.error;
      } catch (err) {
        if (err instanceof ClientError) throw err;
        if (this.#closing() || isClosedError(err)) throw closedError(subject, err);
        const noResp = isNoResponders(err);
        last = new ClientError(
          noResp ? ClientErrorCode.NO_RESPONDERS : ErrorCode.TIMEOUT,
          noResp ? `no Tally node answers ${subject}` : `no reply to ${subject} within ${this.#requestTimeoutMs} ms`,
          { cause: err, retryable: true },
        );
      }
      const wait = backoffMs(attempt, READ_BACKOFF);
      if (!last.retryable || Date.now() + wait > deadline) throw last;
      await sleep(wait);
    }
  }

  /** A draining connection refuses new requests and then closes: as final as closed. */
  #closing(): boolean {
    return this.#nc.isClosed() || this.#nc.isDraining();
  }
}

function isClosedError(err: unknown): boolean {
  const closed = (e: unknown) =>
    e instanceof errors.ClosedConnectionError || e instanceof errors.DrainingConnectionError;
  return closed(err) || (err instanceof Error && closed(err.cause));
}

function closedError(subject: string, cause: unknown): ClientError {
  return new ClientError(
    ClientErrorCode.CONNECTION_CLOSED,
    `the NATS connection is closed (request on ${subject}); not retried`,
    {
      cause,
    },
  );
}

function timeArg(t: number | Date | string): number | string {
  return t instanceof Date ? t.getTime() : t;
}

type ParsedReply = { value: Record<string, unknown> } | { error: ClientError };

/**
 * A reply as a value or as the server's error. An error reply says whether to retry
 * (`retryable`); a node that does not say yet is judged by its code.
 */
function parseReply(data: Uint8Array): ParsedReply {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch (err) {
    throw new ClientError(ClientErrorCode.BAD_REPLY, `reply is not JSON: ${dec.decode(data).slice(0, 100)}`, {
      cause: err,
    });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ClientError(ClientErrorCode.BAD_REPLY, "reply is not a JSON object");
  }
  if (!("error" in v)) return { value: v as Record<string, unknown> };
  const e = v.error;
  if (typeof e !== "object" || e === null) {
    throw new ClientError(ClientErrorCode.BAD_REPLY, `reply has an error that is not an object: ${preview(data)}`);
  }
  const { code, message, retryable } = e as { code?: unknown; message?: unknown; retryable?: unknown };
  const c = typeof code === "string" && code !== "" ? code : "INTERNAL";
  return {
    error: new ClientError(c, typeof message === "string" ? message : "", {
      retryable: typeof retryable === "boolean" ? retryable : isRetryableCode(c),
    }),
  };
}

function preview(data: Uint8Array): string {
  return dec.decode(data.subarray(0, 100));
}

function isNoResponders(err: unknown): boolean {
  if (err instanceof errors.NoRespondersError) return true;
  // A JetStream publish that nothing captured surfaces as JetStreamNotEnabled (a 503 status).
  return err instanceof Error && (err.name === "JetStreamNotEnabled" || err.cause instanceof errors.NoRespondersError);
}
