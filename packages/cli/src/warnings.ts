import type { GatherFlags } from "@tally/core";
import { describeError } from "./errors.js";
import { ClientError, ClientErrorCode } from "@tally/client";

/**
 * Warns on stderr about a namespace-wide reply that may be short: a partial one (the
 * shards that did not answer, and `consequence`) and shards marked with a log gap.
 * stdout keeps the data, so a pipe still gets it.
 */
export function warnGather(reply: GatherFlags, consequence: string): void {
  if (reply.partial) {
    const missing = reply.missingShards ?? [];
    const { hint } = describeError(
      new ClientError(ClientErrorCode.PARTIAL, "", { retryable: true, missingShards: missing }),
      { natsUrl: "" },
    );
    process.stderr.write(
      `warning: PARTIAL: shard${missing.length === 1 ? "" : "s"} ${missing.join(", ")} did not answer in time: ` +
        `${consequence}\nhint: ${hint}\n`,
    );
  }
  for (const [shard, g] of Object.entries(reply.logGaps ?? {}))
    process.stderr.write(
      `warning: shard ${shard} is marked with a log gap: its events with sequence ${g.restoredSeq + 1}-` +
        `${g.logFirstSeq - 1} may be missing (see \`tally status\`; \`tally accept-gap\` clears the mark)\n`,
    );
}
