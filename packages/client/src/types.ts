import type { Period } from "@tally/core";

/** Options of {@link tallyClient}. */
export interface TallyClientOptions {
  /** Time one read request waits for its reply, in ms. @default 6000 */
  requestTimeoutMs?: number;
  /** Total time a read keeps retrying retryable errors (and a list page that stays partial), in ms. @default 15000 */
  retryDeadlineMs?: number;
  /** Publishes (of `increment`, `inc` and batchers) awaiting their ack at once; more wait for a slot. @default 256 */
  maxInFlight?: number;
  /** How long one publish attempt waits for JetStream's ack, in ms. @default 5000 */
  publishTimeoutMs?: number;
  /**
   * How long `increment` and batchers retry a publish that failed transiently (no ack in
   * time, no responders while a server restarts, the connection lost), always with the
   * same message id. Keep it well below the stream's de-duplication window (2 minutes by
   * default): a retry after the window could count an event whose first ack was lost twice.
   * @default 15000
   */
  publishRetryDeadlineMs?: number;
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

/** Options of {@link TallyClient.increment}. */
export interface IncrementOptions {
  /** Event time (epoch ms, Date or ISO-8601); @default the time JetStream stores it */
  ts?: number | Date | string;
  /** `Nats-Msg-Id`; @default a random UUID, so the client's own retries count once */
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
