import { errors, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import {
  encodeName,
  eventSubject,
  parseTime,
  readSubject,
  type Period,
  type SeriesReply,
  type ValueReply,
} from "@tally/core";
import { ClientError, RETRYABLE_CODES } from "./errors.js";

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
}

/** A series read: every bucket from the one holding `from` to the one holding `to`. */
export interface SeriesQuery {
  period: Exclude<Period, "all">;
  from: number | Date | string;
  to: number | Date | string;
  minSeq?: number;
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
    const delta = opts.delta ?? 1;
    // Checked here so a bad time is an error now, not an acked event dead-lettered later.
    if (opts.ts !== undefined) parseTime(opts.ts instanceof Date ? opts.ts.getTime() : opts.ts, "ts");
    if (!Number.isSafeInteger(delta)) throw new ClientError("BAD_DELTA", `delta must be a safe integer, got ${delta}`);
    const body =
      opts.ts !== undefined
        ? JSON.stringify({ delta, ts: opts.ts instanceof Date ? opts.ts.getTime() : opts.ts })
        : delta === 1
          ? ""
          : String(delta);
    try {
      const ack = await this.#js.publish(subject, enc.encode(body), opts.msgId ? { msgID: opts.msgId } : undefined);
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      if (isNoResponders(err)) {
        throw new ClientError(
          "NO_STREAM",
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
    return this.#read<ValueReply>(ns, name, Object.keys(body).length ? JSON.stringify(body) : "");
  }

  series(ns: string, name: string, query: SeriesQuery): Promise<SeriesReply> {
    const body: Record<string, unknown> = { period: query.period, from: timeArg(query.from), to: timeArg(query.to) };
    if (query.minSeq !== undefined) body.minSeq = query.minSeq;
    return this.#read<SeriesReply>(ns, name, JSON.stringify(body));
  }

  async #read<T>(ns: string, rawName: string, body: string): Promise<T> {
    const subject = readSubject(ns, encodeName(rawName));
    const deadline = Date.now() + this.#retryDeadlineMs;
    for (let attempt = 0; ; attempt++) {
      let last: ClientError;
      try {
        const reply = await this.#nc.request(subject, enc.encode(body), { timeout: this.#requestTimeoutMs });
        const parsed = parseReply(reply.data);
        if (isErrorReply(parsed)) {
          last = new ClientError(parsed.error.code, parsed.error.message, {
            retryable: RETRYABLE_CODES.has(parsed.error.code),
          });
        } else {
          return { ...parsed, name: rawName } as T;
        }
      } catch (err) {
        if (err instanceof ClientError && !err.retryable) throw err;
        if (this.#nc.isClosed()) throw err;
        const noResp = isNoResponders(err);
        last = new ClientError(
          noResp ? "NO_RESPONDERS" : "TIMEOUT",
          noResp ? `no Tally node answers ${subject}` : `no reply to ${subject} within ${this.#requestTimeoutMs} ms`,
          { cause: err, retryable: true },
        );
      }
      if (!last.retryable || Date.now() + backoff(attempt) > deadline) throw last;
      await new Promise((r) => setTimeout(r, backoff(attempt)));
    }
  }
}

function backoff(attempt: number): number {
  return Math.min(1000, 25 * 2 ** attempt);
}

function timeArg(t: number | Date | string): number | string {
  return t instanceof Date ? t.getTime() : t;
}

type RawReply = { error: { code: string; message: string } } | Record<string, unknown>;

function parseReply(data: Uint8Array): RawReply {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch (err) {
    throw new ClientError("BAD_REPLY", `reply is not JSON: ${dec.decode(data).slice(0, 100)}`, { cause: err });
  }
  if (typeof v !== "object" || v === null) throw new ClientError("BAD_REPLY", "reply is not a JSON object");
  const e = (v as { error?: { code?: unknown; message?: unknown } }).error;
  if (e !== undefined) return { error: { code: String(e.code ?? "INTERNAL"), message: String(e.message ?? "") } };
  return v as Record<string, unknown>;
}

function isNoResponders(err: unknown): boolean {
  if (err instanceof errors.NoRespondersError) return true;
  // A JetStream publish that nothing captured surfaces as JetStreamNotEnabled (a 503 status).
  return err instanceof Error && (err.name === "JetStreamNotEnabled" || err.cause instanceof errors.NoRespondersError);
}

function isErrorReply(r: RawReply): r is { error: { code: string; message: string } } {
  return "error" in r && typeof r.error === "object" && r.error !== null;
}
