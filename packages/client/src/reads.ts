import type { NatsConnection } from "@nats-io/transport-node";
import { backoffMs, ErrorCode, isRetryableCode, sleep } from "@tally/core";
import { ClientError, ClientErrorCode } from "./errors.js";
import { closedError, isClosedError, isClosing, isNoResponders } from "./nats-errors.js";

/** Settings of a {@link Requester}, already checked. */
export interface RequesterSettings {
  /** Time one request waits for its reply, in ms. */
  requestTimeoutMs: number;
  /** Total time a read keeps retrying retryable errors, in ms. */
  retryDeadlineMs: number;
}

/** Backoff between read retries: 25 ms doubling up to 1 s. */
export const READ_BACKOFF = { baseMs: 25, maxMs: 1000 } as const;

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Request-reply with Tally's read contract: a JSON object back, or an error reply
 * (`{"error":{code,message,retryable}}`) turned into a {@link ClientError}. Retryable
 * errors, timeouts and no responders are retried with backoff until the deadline; a
 * closed or draining connection never answers again, so it ends the loop at once.
 */
export class Requester {
  readonly #nc: NatsConnection;
  readonly settings: RequesterSettings;

  constructor(nc: NatsConnection, settings: RequesterSettings) {
    this.#nc = nc;
    this.settings = settings;
  }

  /** Whether the connection is closed or draining (every call on it is final). */
  get closing(): boolean {
    return isClosing(this.#nc);
  }

  /**
   * Sends `body` to `subject` until a success reply, a final error, the retry deadline
   * (absolute epoch ms, default now + retryDeadlineMs) or the connection closing.
   */
  async request(subject: string, body: string, deadline?: number): Promise<Record<string, unknown>> {
    const data = enc.encode(body);
    const until = deadline ?? Date.now() + this.settings.retryDeadlineMs;
    const timeout = this.settings.requestTimeoutMs;
    let last: ClientError | undefined;
    for (let attempt = 0; ; attempt++) {
      if (this.closing) throw closedError(subject, last);
      try {
        const reply = await this.#nc.request(subject, data, { timeout });
        const parsed = parseReply(reply.data);
        if (!("error" in parsed)) return parsed.value;
        last = parsed.error;
      } catch (err) {
        if (err instanceof ClientError) throw err;
        if (this.closing || isClosedError(err)) throw closedError(subject, err);
        const noResp = isNoResponders(err);
        last = new ClientError(
          noResp ? ClientErrorCode.NO_RESPONDERS : ErrorCode.TIMEOUT,
          noResp ? `no Tally node answers ${subject}` : `no reply to ${subject} within ${timeout} ms`,
          { cause: err, retryable: true },
        );
      }
      const wait = backoffMs(attempt, READ_BACKOFF);
      if (!last.retryable || Date.now() + wait > until) throw last;
      await sleep(wait);
    }
  }
}

/** A time argument on the wire: epoch ms or the ISO string as given. */
export function timeArg(t: number | Date | string): number | string {
  return t instanceof Date ? t.getTime() : t;
}

/** A request body: `""` when nothing is set (the node's defaults), else the JSON of the set fields. */
export function requestBody(fields: Record<string, unknown>): string {
  const set = Object.entries(fields).filter(([, v]) => v !== undefined);
  return set.length === 0 ? "" : JSON.stringify(Object.fromEntries(set));
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
    throw new ClientError(ClientErrorCode.BAD_REPLY, `reply is not JSON: ${preview(data)}`, { cause: err });
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
