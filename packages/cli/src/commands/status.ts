import type { Command } from "commander";
import { formatDuration } from "@tally/core";
import { NODE_DEFAULTS, clusterStatus, formatSize } from "@tally/node";
import { withConnection, type FlagsOf } from "../connection.js";
import { int } from "../options.js";
import { printTable } from "../table.js";

/**
 * `tally status`: the event log, members, and each shard's owner, lease epoch, applied
 * sequence (appliedSeq), lag and log gap mark.
 */
export function registerStatus(program: Command, flags: FlagsOf): void {
  program
    .command("status")
    .description(
      "show the event log, members, and each shard's owner, lease epoch, lag (stream last sequence minus applied) and log gap mark",
    )
    .option(
      "--member-timeout <ms>",
      "call a member down when its last heartbeat is older than this",
      int("--member-timeout"),
      NODE_DEFAULTS.memberTimeoutMs,
    )
    .option("--json", "print the status as JSON")
    .action(async (o: { memberTimeout: number; json?: boolean }) => {
      await withConnection(flags(), async (nc) => {
        const st = await clusterStatus(nc, { memberTimeoutMs: o.memberTimeout });
        if (o.json) {
          console.log(JSON.stringify(st, null, 2));
          return;
        }
        const served = st.shards.filter((s) => s.owner !== undefined).length;
        console.log(
          `cluster: ${st.config.shards} shards (${served} served), replicas ${st.config.replicas}, stream last sequence ${st.streamLastSeq}`,
        );
        const l = st.log;
        console.log(
          `event log: sequences ${l.firstSeq}-${l.lastSeq}, ${l.messages} events, ${formatSize(l.bytes)}; ` +
            `max age ${l.maxAgeMs === undefined ? "unlimited" : formatDuration(l.maxAgeMs)}, ` +
            `max bytes ${l.maxBytes === undefined ? "unlimited" : formatSize(l.maxBytes)}`,
        );
        console.log("");
        printTable(
          ["MEMBER", "HOST", "STATE", "SHARDS", "HEARTBEAT", "STARTED"],
          st.members.map((m) => [
            m.id,
            m.host,
            m.live ? (m.refusingShards !== undefined ? "live, refusing shards" : "live") : "down",
            String(m.shards),
            `${(m.heartbeatAgeMs / 1000).toFixed(1)}s ago`,
            m.startedAt,
          ]),
        );
        for (const m of st.members.filter((x) => x.live && x.refusingShards !== undefined)) {
          console.log(`member ${m.id} takes no new shards: ${m.refusingShards}`);
        }
        console.log("");
        printTable(
          ["SHARD", "OWNER", "EPOCH", "APPLIED", "LAG", "LOG GAP"],
          st.shards.map((s) => [
            String(s.shard),
            s.owner ?? "-",
            s.epoch === undefined ? "-" : String(s.epoch),
            s.appliedSeq === undefined ? "-" : String(s.appliedSeq),
            s.lag === undefined ? "-" : String(s.lag),
            s.logGap ? `missing? ${s.logGap.restoredSeq + 1}-${s.logGap.logFirstSeq - 1}` : "-",
          ]),
        );
        const marked = st.shards.filter((s) => s.logGap).map((s) => s.shard);
        if (marked.length > 0) {
          console.log("");
          console.log(
            `${marked.length} shard(s) marked with a log gap (${marked.join(", ")}): events in the sequences shown left ` +
              "the log before a checkpoint held them and may be missing from their counts; every read reply of them " +
              "says so. Once you accept the counts as they are: tally accept-gap --shard N (or --all)",
          );
        }
      });
    });
}
