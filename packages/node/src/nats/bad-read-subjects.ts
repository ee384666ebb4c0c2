import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { RequestError } from "@tally/core";
import { respondError } from "./replies.js";

/**
 * Answers reads on subjects the server mapping cannot route (a wrong token count) with
 * `BAD_REQUEST`, so such a request gets an error instead of a timeout. One queue group
 * across the cluster.
 */
export function answerBadReadSubjects(nc: NatsConnection): Subscription[] {
  return ["count.get", "count.get.*.*.>", "count.top", "count.top.*.*.>", "count.list", "count.list.*.*.>"].map(
    (subject) =>
      nc.subscribe(subject, {
        queue: "tally-bad-reads",
        callback: (_err, msg) =>
          respondError(
            msg,
            new RequestError(
              "BAD_REQUEST",
              `bad read subject ${msg.subject}: use count.get.<ns>.<name>, count.top.<ns>.<period> or count.list.<ns>.<period>`,
            ),
          ),
      }),
  );
}
