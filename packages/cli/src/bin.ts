#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_SHARDS, parsePeriods, TallyError, type Period } from "@tally/core";
import { clusterStatus, initCluster, listDeadLetters, natsMappings, startNode, type TallyNode } from "@tally/node";
import { tallyClient } from "@tally/client";
import { connectionOptions, withConnection, type ConnectionFlags } from "./connection.js";
import { runDev } from "./dev.js";

const int = (name: string) => (v: string) => {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be an integer`);
  return Number(v);
};
const periodsArg = (v: string): Period[] => {
  try {
    return parsePeriods(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};
const fractionArg = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError("must be a number above 0 and at most 1");
  return n;
};
const timeArg = (v: string): number | string => (/^-?\d+$/.test(v) ? Number(v) : v);

const program = new Command("tally")
  .description("Exact, real-time, time-bucketed event counters on NATS JetStream")
  .showHelpAfterError()
  .addOption(
    new Option("--nats <url>", "NATS server URL(s), comma-separated")
      .env("TALLY_NATS_URL")
      .default("nats://127.0.0.1:4222"),
  )
  .addOption(new Option("--creds <file>", "NATS credentials file").env("TALLY_NATS_CREDS"))
  .addOption(new Option("--user <user>", "NATS user").env("TALLY_NATS_USER"))
  .addOption(new Option("--password <password>", "NATS password").env("TALLY_NATS_PASSWORD"))
  .addOption(new Option("--token <token>", "NATS token").env("TALLY_NATS_TOKEN"))
  .addOption(new Option("--tls-ca <file>", "CA certificate for TLS").env("TALLY_NATS_TLS_CA"))
  .addOption(new Option("--tls-cert <file>", "client certificate for TLS").env("TALLY_NATS_TLS_CERT"))
  .addOption(new Option("--tls-key <file>", "client key for TLS").env("TALLY_NATS_TLS_KEY"));

const flags = (): ConnectionFlags => program.opts<ConnectionFlags>();

program
  .command("nats-config")
  .description("print the nats-server `mappings { … }` block for events and reads (stdout only)")
  .option("--shards <P>", "number of shards", int("--shards"), DEFAULT_SHARDS)
  .action((o: { shards: number }) => {
    process.stdout.write(natsMappings(o.shards));
  });

program
  .command("init")
  .description("create the events stream, dead-letter stream and config bucket; idempotent")
  .option(
    "--shards <P>",
    `number of shards, fixed for the cluster's life (default ${DEFAULT_SHARDS}, or the existing value)`,
    int("--shards"),
  )
  .option(
    "--replicas <R>",
    "replicas of streams and buckets: 1, 3 or 5 (default 1, or the existing value)",
    int("--replicas"),
  )
  .option("--periods <list>", "periods to count, comma-separated (default all,hour,day,week,month)", periodsArg)
  .option("--dedup-window <ms>", "Nats-Msg-Id de-duplication window in ms", int("--dedup-window"), 120_000)
  .option("--lease-ttl <ms>", "shard lease TTL in ms (default 5000, or the existing value)", int("--lease-ttl"))
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

program
  .command("node")
  .description("run one node in the foreground; SIGTERM/SIGINT = graceful stop (final snapshot)")
  .requiredOption("--data <dir>", "data directory for the node's LevelDB snapshot")
  .option("--id <id>", "node id (default <hostname>-<pid>)")
  .option("--http <port>", "serve /metrics, /healthz and /status on 127.0.0.1:<port>", int("--http"))
  .option("--snapshot-interval <ms>", "snapshot changed shards every <ms>", int("--snapshot-interval"), 2000)
  .option("--snapshot-events <n>", "also snapshot a shard after <n> events", int("--snapshot-events"), 10_000)
  .option("--read-wait <ms>", "longest a read waits for minSeq or replay", int("--read-wait"), 5000)
  .option("--heartbeat <ms>", "membership heartbeat interval", int("--heartbeat"), 1000)
  .option("--member-timeout <ms>", "drop a member whose heartbeats stop for this long", int("--member-timeout"), 5000)
  .option("--min-members <n>", "live members needed before a new cluster takes shards", int("--min-members"), 1)
  .option("--max-moving <fraction>", "most shards moving at once, as a fraction of all shards", fractionArg, 0.25)
  .option(
    "--checkpoint-interval <ms>",
    "write changed shards' shared checkpoints every <ms>",
    int("--checkpoint-interval"),
    5000,
  )
  .option(
    "--stop-timeout <ms>",
    "longest a graceful stop (hand-off) may take before exiting",
    int("--stop-timeout"),
    60_000,
  )
  .addOption(
    new Option("--log-level <level>", "log level")
      .choices(["fatal", "error", "warn", "info", "debug", "trace"])
      .default("info")
      .env("TALLY_LOG_LEVEL"),
  )
  .action(
    async (o: {
      data: string;
      id?: string;
      http?: number;
      snapshotInterval: number;
      snapshotEvents: number;
      readWait: number;
      heartbeat: number;
      memberTimeout: number;
      minMembers: number;
      maxMoving: number;
      checkpointInterval: number;
      stopTimeout: number;
      logLevel: string;
    }) => {
      // Handlers first: a stop asked for during start-up replay is honoured once it ends.
      const run: { node?: TallyNode; stopAsked: boolean; closing: boolean } = { stopAsked: false, closing: false };
      const stop = () => {
        if (run.closing) {
          process.stderr.write("tally: second stop signal: exiting without finishing the hand-off\n");
          process.exit(1);
        }
        run.stopAsked = true;
        if (!run.node) return;
        run.closing = true;
        // A hand-off needs NATS; if it is unreachable, give up after the deadline (leases then expire).
        setTimeout(() => {
          process.stderr.write(`tally: graceful stop took over ${o.stopTimeout} ms; exiting\n`);
          process.exit(1);
        }, o.stopTimeout).unref();
        run.node.close().catch((err: unknown) => process.stderr.write(`tally: close failed: ${String(err)}\n`));
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
      const node = (run.node = await startNode({
        connection: connectionOptions(flags()),
        dataDir: o.data,
        ...(o.id ? { id: o.id } : {}),
        ...(o.http !== undefined ? { httpPort: o.http } : {}),
        snapshotIntervalMs: o.snapshotInterval,
        snapshotEvents: o.snapshotEvents,
        readWaitMs: o.readWait,
        heartbeatMs: o.heartbeat,
        memberTimeoutMs: o.memberTimeout,
        minMembers: o.minMembers,
        maxMovingFraction: o.maxMoving,
        checkpointIntervalMs: o.checkpointInterval,
        logLevel: o.logLevel,
      }));
      if (run.stopAsked) stop();
      await node.closed();
    },
  );

program
  .command("dev")
  .description("run a local nats-server (with the Tally mappings) and nodes, ready to count")
  .option("--dir <dir>", "where the server config, JetStream data and node data live", ".tally/dev")
  .option("--port <port>", "NATS client port", int("--port"), 4222)
  .option("--shards <P>", "number of shards", int("--shards"), DEFAULT_SHARDS)
  .option("--periods <list>", "periods to count, comma-separated", periodsArg)
  .option(
    "--http <port>",
    "serve the first node's metrics on this port (the next nodes on the next ports)",
    int("--http"),
  )
  .option("--nodes <n>", "number of nodes (each with its own data dir under --dir)", int("--nodes"), 1)
  .action(
    async (o: { dir: string; port: number; shards: number; periods?: Period[]; http?: number; nodes: number }) => {
      await runDev({
        dir: o.dir,
        port: o.port,
        shards: o.shards,
        nodes: o.nodes,
        ...(o.periods ? { periods: o.periods } : {}),
        ...(o.http !== undefined ? { httpPort: o.http } : {}),
      });
    },
  );

program
  .command("inc")
  .description("count one event: publish to count.<ns>.<name> and wait for the JetStream ack")
  .argument("<ns>", "namespace")
  .argument("<name>", "counter name (dots and other reserved characters are percent-encoded)")
  .argument("[delta]", "signed integer to add", int("delta"), 1)
  .option("--ts <time>", "event time: epoch ms or ISO-8601 (default: when stored)", timeArg)
  .option("--msg-id <id>", "Nats-Msg-Id, so a retry counts once")
  .action(async (ns: string, name: string, delta: number, o: { ts?: number | string; msgId?: string }) => {
    await withConnection(flags(), async (nc) => {
      const r = await tallyClient(nc).inc(ns, name, {
        delta,
        ...(o.ts !== undefined ? { ts: o.ts } : {}),
        ...(o.msgId ? { msgId: o.msgId } : {}),
      });
      console.log(JSON.stringify(r));
    });
  });

program
  .command("get")
  .description("read a counter: all-time, one bucket, or a series")
  .argument("<ns>", "namespace")
  .argument("<name>", "counter name")
  .option("--period <period>", "all, minute, hour, day, week, month or year", "all")
  .option("--at <time>", "a time inside the bucket (epoch ms or ISO-8601; default now)", timeArg)
  .option("--from <time>", "series start (with --to)", timeArg)
  .option("--to <time>", "series end (with --from)", timeArg)
  .option("--min-seq <seq>", "wait until the reply reflects every event up to this stream sequence", int("--min-seq"))
  .action(
    async (
      ns: string,
      name: string,
      o: { period: Period; at?: number | string; from?: number | string; to?: number | string; minSeq?: number },
    ) => {
      await withConnection(flags(), async (nc) => {
        const client = tallyClient(nc);
        const minSeq = o.minSeq !== undefined ? { minSeq: o.minSeq } : {};
        const reply =
          o.from !== undefined || o.to !== undefined
            ? await client.series(ns, name, {
                period: o.period as Exclude<Period, "all">,
                from: o.from ?? "",
                to: o.to ?? "",
                ...minSeq,
              })
            : await client.get(ns, name, { period: o.period, ...(o.at !== undefined ? { at: o.at } : {}), ...minSeq });
        console.log(JSON.stringify(reply));
      });
    },
  );

program
  .command("status")
  .description("show members, each shard's owner, lease epoch and lag (stream last sequence minus applied)")
  .option(
    "--member-timeout <ms>",
    "call a member down when its last heartbeat is older than this",
    int("--member-timeout"),
    5000,
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

program
  .command("dlq")
  .description("list dead-lettered events (invalid events that were stored but not counted)")
  .option("--limit <n>", "at most this many", int("--limit"), 100)
  .option("--from-seq <seq>", "start at this dead-letter sequence", int("--from-seq"), 1)
  .option("--json", "one JSON object per line")
  .action(async (o: { limit: number; fromSeq: number; json?: boolean }) => {
    await withConnection(flags(), async (nc) => {
      const list = await listDeadLetters(nc, { limit: o.limit, fromSeq: o.fromSeq });
      const dec = new TextDecoder();
      if (o.json) {
        for (const d of list) console.log(JSON.stringify({ ...d, body: dec.decode(d.body) }));
        return;
      }
      if (list.length === 0) {
        console.log("no dead letters");
        return;
      }
      const rows = list.map((d) => [
        String(d.dlqSeq),
        String(d.seq),
        d.time,
        d.subject,
        d.code,
        JSON.stringify(dec.decode(d.body).slice(0, 40)),
        d.reason,
      ]);
      printTable(["DLQ", "SEQ", "STORED", "SUBJECT", "CODE", "BODY", "REASON"], rows);
    });
  });

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (i === head.length - 1 ? 0 : (r[i] ?? "").length))),
  );
  for (const r of [head, ...rows])
    console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
}

try {
  await program.parseAsync();
} catch (err) {
  const code = err instanceof TallyError ? `${err.code}: ` : "";
  process.stderr.write(`tally: ${code}${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
