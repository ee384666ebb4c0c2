import type { Command } from "commander";
import { NODE_DEFAULTS, clusterStatus } from "@tally/node";
import { withConnection, type FlagsOf } from "../connection.js";
import { int } from "../options.js";
import { printTable } from "../table.js";

/** `tally status`: members, and each shard's owner, lease epoch, applied sequence (appliedSeq) and lag. */
export function registerStatus(program: Command, flags: FlagsOf): void {
  program
    .command("status")
    .description("show members, each shard's owner, lease epoch and lag (stream last sequence minus applied)")
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
        console.log("");
        printTable(
          ["MEMBER", "HOST", "STATE", "SHARDS", "HEARTBEAT", "STARTED"],
          st.members.map((m) => [
            m.id,
            m.host,
            m.live ? "live" : "down",
            String(m.shards),
            `${(m.heartbeatAgeMs / 1000).toFixed(1)}s ago`,
            m.startedAt,
          ]),
        );
        console.log("");
        printTable(
          ["SHARD", "OWNER", "EPOCH", "APPLIED", "LAG"],
          st.shards.map((s) => [
            String(s.shard),
            s.owner ?? "-",
            s.epoch === undefined ? "-" : String(s.epoch),
            s.appliedSeq === undefined ? "-" : String(s.appliedSeq),
            s.lag === undefined ? "-" : String(s.lag),
          ]),
        );
      });
    });
}
