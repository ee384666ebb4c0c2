/**
 * Informative publishers of phase 1, beside the two the target compares: what pipelining
 * alone gives without the client (`js.publish` with a window), and the least a pipelined
 * acked publisher can cost in this process (`nc.publish` with a reply subject, acks counted
 * by one subscription: no request object, timer or error per message, no retries).
 */
import { createInbox } from "@nats-io/transport-node";
import { publishAll } from "../lib/publish.js";
import { hrNow, msSince } from "../lib/time.js";
import type { ClientRun } from "./options.js";

const EMPTY = new Uint8Array(0);

/** The client's in-flight window (`maxInFlight`, its default): the baselines' window too. */
export const CLIENT_WINDOW = 256;

/** N `js.publish` calls (no message id) with {@link CLIENT_WINDOW} in flight, round-robin over `subjects`. */
export async function jsPublishPipelined(run: ClientRun, subjects: string[], n: number) {
  const r = await publishAll(run.js, subjects, n, CLIENT_WINDOW);
  return { ms: msSince(r.startedAt, r.doneAt), lastSeq: r.lastSeq };
}

/**
 * N `nc.publish(subject, empty, { reply })` calls with {@link CLIENT_WINDOW} awaiting their
 * JetStream ack, which one subscription on `<inbox>.*` takes in; rejects on an error ack
 * or when no ack came for 30 s.
 */
export async function barePipelined(run: ClientRun, subjects: string[], n: number) {
  const inbox = createInbox();
  let sent = 0;
  let acked = 0;
  let lastSeq = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const sub = run.nc.subscribe(`${inbox}.*`, {
    callback: (err, msg) => {
      if (err) failure ??= err;
      else {
        const ack = msg.json<{ seq?: number; error?: { description: string } }>();
        if (ack.error || ack.seq === undefined) failure ??= new Error(`error ack: ${JSON.stringify(ack)}`);
        else if (ack.seq > lastSeq) lastSeq = ack.seq;
      }
      acked++;
      const w = wake;
      wake = undefined;
      w?.();
    },
  });
  try {
    await run.nc.flush(); // the subscription is in place before the first publish
    const t0 = hrNow();
    while (acked < n) {
      while (sent < n && sent - acked < CLIENT_WINDOW) {
        run.nc.publish(subjects[sent % subjects.length]!, EMPTY, { reply: `${inbox}.${sent}` });
        sent++;
      }
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(() => {
          failure ??= new Error(`no ack for 30 s (${acked} of ${n} acked)`);
          resolve();
        }, 30_000);
      });
      clearTimeout(timer);
      if (failure) throw failure;
    }
    return { ms: msSince(t0), lastSeq };
  } finally {
    sub.unsubscribe();
  }
}
