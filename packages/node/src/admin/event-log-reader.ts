import type { NatsConnection } from "@nats-io/transport-node";
import { DeliverPolicy, jetstream, type JsMsg } from "@nats-io/jetstream";
import { NodeError } from "../errors.js";
import { EVENTS_STREAM } from "../names.js";
import { stopOnMissedHeartbeats } from "../nats/consumer-watchdog.js";

/** A stretch of the events stream to read. */
export interface EventLogRange {
  /** @default "TALLY_EVENTS" */
  stream?: string;
  /** First sequence to read. */
  from: number;
  /** Last sequence to read, inclusive. */
  to: number;
  /**
   * Consumer filter, e.g. `tally.ev.*.web.*`; every event when absent. Only a hint:
   * when the server refuses it, every event is read, so `handle` must skip the others.
   */
  filter?: string;
  /**
   * Messages per pull. Bigger pulls mean fewer round trips.
   * @default 2048
   */
  batch?: number;
}

/** Where a read is; one object, updated in place, handed to `onProgress`. */
export interface EventLogProgress {
  /** Messages handled so far. */
  events: number;
  /** Sequence of the last message handled (`from - 1` before the first). */
  seq: number;
}

/** Options of {@link readEventLog}. */
export interface ReadEventLogOptions {
  /** Called every {@link PROGRESS_EVERY} messages and once at the end, with the same object. */
  onProgress?: (p: Readonly<EventLogProgress>) => void;
}

/** Messages between two progress calls: a power of two, so the check is a mask. */
export const PROGRESS_EVERY = 1024;

/** Default messages per pull of {@link EventLogRange.batch}. */
export const DEFAULT_READ_BATCH = 2048;

/**
 * Reads `range` of the events stream through one ordered consumer, calling `handle` for
 * each message in sequence order, synchronously (the consumer's callback mode: no
 * promise per message). Ends at `to`, or as soon as nothing more matches (the message's
 * pending count is 0), so a filter whose last match is before `to` does not wait for
 * events that are not there. Messages the stream no longer holds are simply not seen.
 *
 * Rejects with `NodeError` `VERIFY_FAILED` if the consumer stops first (lost server,
 * missed heartbeats, closed connection) or `handle` throws.
 */
export async function readEventLog(
  nc: NatsConnection,
  range: EventLogRange,
  handle: (m: JsMsg) => void,
  opts: ReadEventLogOptions = {},
): Promise<EventLogProgress> {
  const { from, to } = range;
  const stream = range.stream ?? EVENTS_STREAM;
  const progress: EventLogProgress = { events: 0, seq: from - 1 };
  if (to < from) return progress;
  const open = async (filter: string | undefined) => {
    const c = await jetstream(nc).consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
      ...(filter !== undefined ? { filter_subjects: filter } : {}),
    });
    return { consumer: c, pending: (await c.info(true)).num_pending };
  };
  // nats-server 2.9 takes only a filter that is a subset of one of the stream's subjects
  // (`tally.ev.*.web.*` spans them all): then every event is read, and `handle` skips.
  const { consumer, pending } = await open(range.filter).catch(() => open(undefined));
  if (pending === 0) return progress;

  const onProgress = opts.onProgress;
  let ended = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const end = () => {
    ended = true;
    finish();
  };
  const messages = await consumer.consume({
    max_messages: range.batch ?? DEFAULT_READ_BATCH,
    expires: 5000,
    callback: (m: JsMsg) => {
      if (ended) return; // buffered messages delivered after the end
      const seq = m.seq;
      if (seq > to) return end();
      handle(m);
      progress.seq = seq;
      if ((++progress.events & (PROGRESS_EVERY - 1)) === 0) onProgress?.(progress);
      if (seq >= to || m.info.pending === 0) end();
    },
  });
  let stall: number | undefined;
  stopOnMissedHeartbeats(messages, (count) => (stall = count));
  try {
    await Promise.race([
      finished,
      messages.closed().then((err) => {
        if (ended) return;
        const why =
          err instanceof Error ? err.message : stall !== undefined ? `${stall} heartbeats missed` : "it was stopped";
        throw new NodeError(
          "VERIFY_FAILED",
          `reading ${stream} stopped at sequence ${progress.seq} of ${to}: ${why}`,
          err instanceof Error ? { cause: err } : undefined,
        );
      }),
    ]);
  } finally {
    ended = true;
    messages.stop(); // close() would wait for an iteration that has ended
  }
  onProgress?.(progress);
  return progress;
}
