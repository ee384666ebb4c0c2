import type { Command } from "commander";
import { formatDuration, formatRetention, type Period } from "@tally/core";
import { INIT_DEFAULTS, LOG_MAX_BYTES_FLOOR, formatSize, initCluster, type InitOptions } from "@tally/node";
import { withConnection, type FlagsOf } from "../connection.js";
import { durationOrUnlimited, int, limitValue, periodsArg, sizeOrUnlimited, type UNLIMITED } from "../options.js";

interface InitFlags {
  shards?: number;
  replicas?: number;
  periods?: Period[];
  dedupWindow?: number;
  leaseTtl?: number;
  retention?: string;
  checkpointInterval?: number;
  logMaxAge?: number | typeof UNLIMITED;
  logMaxBytes?: number | typeof UNLIMITED;
  dlqMaxAge?: number | typeof UNLIMITED;
  json?: boolean;
}

/** `tally init`: creates (or checks and updates) the streams and buckets; idempotent. */
export function registerInit(program: Command, flags: FlagsOf): void {
  program
    .command("init")
    .description(
      "create the events stream, dead-letter stream and config bucket; idempotent; changes replicas, retention and limits",
    )
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
      "--retention <list>",
      `how long each period keeps its buckets, PERIOD=DURATION,… (P=forever keeps it); periods not named keep ` +
        `their current value (default ${formatRetention(INIT_DEFAULTS.retention)}, the rest forever)`,
    )
    .option(
      "--log-max-age <duration>",
      "drop events older than this from the event log, e.g. 30d; their counts live on in the checkpoints; " +
        "at least 10 checkpoint intervals; 'unlimited' lifts it (default unlimited, or the existing value)",
      durationOrUnlimited("--log-max-age"),
    )
    .option(
      "--log-max-bytes <size>",
      `keep the event log under this size, e.g. 500MB, 10GiB; at least ${formatSize(LOG_MAX_BYTES_FLOOR)}; ` +
        "'unlimited' lifts it (default unlimited, or the existing value)",
      sizeOrUnlimited("--log-max-bytes"),
    )
    .option(
      "--checkpoint-interval <ms>",
      `the longest --checkpoint-interval the cluster's nodes use; log max age must be at least 10 of them ` +
        `(default ${INIT_DEFAULTS.checkpointIntervalMs}, or the existing value)`,
      int("--checkpoint-interval"),
    )
    .option(
      "--dlq-max-age <duration>",
      `drop dead letters older than this; 'forever' keeps them ` +
        `(default ${formatDuration(INIT_DEFAULTS.dlqMaxAgeMs)}, or the existing value)`,
      durationOrUnlimited("--dlq-max-age"),
    )
    .option(
      "--dedup-window <ms>",
      `Nats-Msg-Id de-duplication window in ms, at most the log's max age ` +
        `(default ${INIT_DEFAULTS.dedupWindowMs}, or the existing value)`,
      int("--dedup-window"),
    )
    .option(
      "--lease-ttl <ms>",
      `shard lease TTL in ms (default ${INIT_DEFAULTS.leaseTtlMs}, or the existing value)`,
      int("--lease-ttl"),
    )
    .option("--json", "print what was created, changed and configured as JSON")
    .action(async (o: InitFlags) => {
      await withConnection(flags(), async (nc) => {
        const opts: InitOptions = {};
        if (o.shards !== undefined) opts.shards = o.shards;
        if (o.replicas !== undefined) opts.replicas = o.replicas;
        if (o.periods) opts.periods = o.periods;
        if (o.dedupWindow !== undefined) opts.dedupWindowMs = o.dedupWindow;
        if (o.leaseTtl !== undefined) opts.leaseTtlMs = o.leaseTtl;
        if (o.retention !== undefined) opts.retention = o.retention;
        if (o.checkpointInterval !== undefined) opts.checkpointIntervalMs = o.checkpointInterval;
        if (o.logMaxAge !== undefined) opts.logMaxAgeMs = limitValue(o.logMaxAge);
        if (o.logMaxBytes !== undefined) opts.logMaxBytes = limitValue(o.logMaxBytes);
        if (o.dlqMaxAge !== undefined) opts.dlqMaxAgeMs = limitValue(o.dlqMaxAge);
        const r = await initCluster(nc, opts);
        if (o.json) {
          console.log(JSON.stringify(r, null, 2));
          return;
        }
        for (const c of r.created) console.log(`created  ${c}`);
        for (const c of r.existing) console.log(`exists   ${c}`);
        for (const c of r.changed) console.log(`changed  ${c}`);
        for (const n of r.notes) console.log(`note: ${n}`);
        const c = r.config;
        console.log(
          `cluster: ${c.shards} shards, replicas ${c.replicas}, periods ${c.periods.join(",")}, lease TTL ${c.leaseTtlMs} ms`,
        );
        console.log(`retention: ${formatRetention(c.retention)}`);
        const age = r.log.maxAgeMs === undefined ? "unlimited" : formatDuration(r.log.maxAgeMs);
        const size = r.log.maxBytes === undefined ? "unlimited" : formatSize(r.log.maxBytes);
        console.log(
          `event log: max age ${age}, max bytes ${size}, de-duplication window ${r.dedupWindowMs} ms; ` +
            `checkpoint interval at most ${c.maxCheckpointIntervalMs} ms`,
        );
        console.log(`dead letters: kept ${r.dlqMaxAgeMs === undefined ? "forever" : formatDuration(r.dlqMaxAgeMs)}`);
      });
    });
}
