import type { Command } from "commander";
import type { Period } from "@tally/core";
import { INIT_DEFAULTS, initCluster } from "@tally/node";
import { withConnection, type FlagsOf } from "../connection.js";
import { int, periodsArg } from "../options.js";

/** `tally init`: creates (or checks and updates) the streams and buckets; idempotent. */
export function registerInit(program: Command, flags: FlagsOf): void {
  program
    .command("init")
    .description("create the events stream, dead-letter stream and config bucket; idempotent")
    .option(
      "--shards <P>",
      `number of shards, fixed for the cluster's life (default ${INIT_DEFAULTS.shards}, or the existing value)`,
      int("--shards"),
    )
    .option(
      "--replicas <R>",
      `replicas of streams and buckets: 1, 3 or 5 (default ${INIT_DEFAULTS.replicas}, or the existing value)`,
      int("--replicas"),
    )
    .option(
      "--periods <list>",
      `periods to count, comma-separated (default ${INIT_DEFAULTS.periods.join(",")})`,
      periodsArg,
    )
    .option(
      "--dedup-window <ms>",
      "Nats-Msg-Id de-duplication window in ms",
      int("--dedup-window"),
      INIT_DEFAULTS.dedupWindowMs,
    )
    .option(
      "--lease-ttl <ms>",
      `shard lease TTL in ms (default ${INIT_DEFAULTS.leaseTtlMs}, or the existing value)`,
      int("--lease-ttl"),
    )
    .action(
      async (o: { shards?: number; replicas?: number; periods?: Period[]; dedupWindow: number; leaseTtl?: number }) => {
        await withConnection(flags(), async (nc) => {
          const r = await initCluster(nc, {
            ...(o.shards !== undefined ? { shards: o.shards } : {}),
            ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
            ...(o.periods ? { periods: o.periods } : {}),
            dedupWindowMs: o.dedupWindow,
            ...(o.leaseTtl !== undefined ? { leaseTtlMs: o.leaseTtl } : {}),
          });
          for (const c of r.created) console.log(`created  ${c}`);
          for (const c of r.existing) console.log(`exists   ${c}`);
          console.log(
            `cluster: ${r.config.shards} shards, replicas ${r.config.replicas}, periods ${r.config.periods.join(",")}, lease TTL ${r.config.leaseTtlMs} ms`,
          );
        });
      },
    );
}
