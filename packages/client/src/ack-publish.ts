import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { ClientError, ClientErrorCode } from "./errors.js";
import { closedError, isClosedError, isClosing, publishFailure } from "./nats-errors.js";
import { ackTimeoutError, parsePubAck, type PubAck } from "./pub-ack.js";

/** One publish awaiting its ack. */
interface Pending {
  subject: string;
  /** Epoch ms after which the sweep fails it with `TIMEOUT`. */
  deadline: number;
  resolve: (ack: PubAck) => void;
  reject: (err: ClientError) => void;
}

/** The sweep runs at most this often while acks are pending, so timeouts are this late at most. */
const SWEEP_MIN_MS = 10;

/**
 * One attempt of an acked JetStream publish, lean: `nc.publish` with a reply subject under
 * a private inbox prefix, every ack taken in by ONE wildcard subscription and matched to
 * its publish by the reply's last token, and ONE timer failing the publishes whose ack is
 * overdue. What `js.publish` does per message besides (a request object, a timer, a
 * promise race, an error for its stack) costs about three times the CPU of this.
 *
 * Every publish settles: with its {@link PubAck}, or with a {@link ClientError}: `TIMEOUT`
 * (no ack in time), `NO_STREAM` (no responders: nothing captured the subject), or what
 * {@link parsePubAck} makes of a JetStream error (`PUBLISH_REJECTED`, `PUBLISH_FAILED` for
 * a 503) — all but the refusal retryable; `CONNECTION_CLOSED` for every publish pending when
 * the connection closes or drains. No retries here: see {@link Publisher}.
 */
export class AckPublisher {
  readonly #nc: NatsConnection;
  readonly #timeoutMs: number;
  readonly #inboxPrefix: string | undefined;
  // `<inbox>.`: a reply is this plus its token; "" until the first publish subscribes.
  #prefix = "";
  #sub: Subscription | undefined;
  // Insertion order is deadline order (one timeout for all), so the sweep stops at the first live one.
  readonly #pending = new Map<string, Pending>();
  #next = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    // The connection's own inbox prefix (nats.js requests use it too): permissions may allow no other.
    this.#inboxPrefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
    void nc.closed().then(() => this.#failAll());
  }

  /** Publishes awaiting their ack. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Publishes `body` on `subject` (with header `Nats-Msg-Id: msgId` when given) and
   * resolves with JetStream's ack; rejects with a {@link ClientError} as the class says.
   */
  publish(subject: string, body: Uint8Array, msgId: string | undefined): Promise<PubAck> {
    if (isClosing(this.#nc)) return Promise.reject(closedError(subject, undefined));
    if (this.#sub === undefined) this.#subscribe();
    const token = (this.#next++).toString(36);
    return new Promise<PubAck>((resolve, reject) => {
      this.#pending.set(token, { subject, deadline: Date.now() + this.#timeoutMs, resolve, reject });
      try {
        const reply = this.#prefix + token;
        if (msgId === undefined) this.#nc.publish(subject, body, { reply });
        else {
          const h = headers();
          h.set("Nats-Msg-Id", msgId);
          this.#nc.publish(subject, body, { reply, headers: h });
        }
      } catch (err) {
        // Refused before sending (closed, draining, a bad subject, over max_payload).
        this.#pending.delete(token);
        reject(isClosedError(err) || isClosing(this.#nc) ? closedError(subject, err) : publishFailure(subject, err));
        return;
      }
      this.#timer ??= setTimeout(() => this.#sweep(), this.#timeoutMs);
    });
  }

  #subscribe(): void {
    this.#prefix = `${createInbox(this.#inboxPrefix)}.`;
    const sub = this.#nc.subscribe(`${this.#prefix}*`, { callback: (err, msg) => this.#onReply(err, msg) });
    this.#sub = sub;
    const ended = () => {
      if (this.#sub !== sub) return;
      this.#sub = undefined;
      this.#failAll();
    };
    void sub.closed.then(ended, ended);
  }

  #onReply(err: Error | null, msg: Msg): void {
    if (err !== null) {
      // The subscription failed (e.g. no permission for the inbox): no ack will come.
      this.#failAll(err);
      return;
    }
    const token = msg.subject.substring(this.#prefix.length);
    const p = this.#pending.get(token);
    if (p === undefined) return; // its attempt timed out (a retry has another token)
    this.#pending.delete(token);
    const data = msg.data;
    let ack: PubAck;
    try {
      // Only an empty reply can be a status (no responders); decoding headers costs.
      ack = parsePubAck(p.subject, data, data.length === 0 ? msg.headers?.code : undefined);
    } catch (e) {
      p.reject(e instanceof ClientError ? e : publishFailure(p.subject, e));
      return;
    }
    p.resolve(ack);
  }

  /** Fails the publishes whose deadline passed; re-arms for the oldest left. */
  #sweep(): void {
    this.#timer = undefined;
    if (isClosing(this.#nc)) {
      this.#failAll();
      return;
    }
    const now = Date.now();
    for (const [token, p] of this.#pending) {
      if (p.deadline > now) {
        this.#timer = setTimeout(() => this.#sweep(), Math.max(p.deadline - now, SWEEP_MIN_MS));
        return;
      }
      this.#pending.delete(token);
      p.reject(ackTimeoutError(p.subject, this.#timeoutMs));
    }
  }

  /**
   * Fails every pending publish at once: `CONNECTION_CLOSED` when the connection is closed
   * or draining; else (the subscription ended or failed on its own) a retryable
   * `PUBLISH_FAILED`, and the next publish subscribes again.
   */
  #failAll(cause?: Error): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const closed = isClosing(this.#nc);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      p.reject(
        closed
          ? closedError(p.subject, cause)
          : new ClientError(
              ClientErrorCode.PUBLISH_FAILED,
              `the ack subscription for ${p.subject} ended${cause ? `: ${cause.message}` : ""}`,
              { cause, retryable: true },
            ),
      );
    }
  }
}
