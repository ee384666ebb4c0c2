import test, { type ExecutionContext } from "ava";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { DEFAULT_PERIODS, bucketIndex, bucketIso, shardOf } from "@tally/core";
import { tallyClient } from "@tally/client";
import { EVENTS_STREAM, LOG_GAP_HEADER, clusterStatus, type LogGap, type TallyNode } from "@tally/node";
import { waitFor } from "@tally/testing";
import { inProcessNode, tallyCli, tallyServer } from "./helpers/cluster.js";
import { Truth } from "./helpers/truth.js";

const SHARDS = 4;
const NS = "gap";
const DAY = Date.UTC(2026, 10, 20);
const FAST = { heartbeatMs: 200, memberTimeoutMs: 1500, snapshotIntervalMs: 200, checkpointIntervalMs: 300 };
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Two counter names per shard, so every shard has events. */
const NAMES = Array.from({ length: 200 }, (_, i) => `c${i}`)
  .reduce<string[][]>((by, n) => (by[shardOf(NS, n, SHARDS)]!.push(n), by), [[], [], [], []])
  .flatMap((names) => names.slice(0, 2));

/** Publishes `n` acked events over {@link NAMES}; returns their sequences, adding them to `truth` if given. */
async function publish(nc: NatsConnection, n: number, truth?: Truth): Promise<number[]> {
  const js = jetstream(nc);
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) {
    const name = NAMES[i % NAMES.length]!;
    const delta = (i % 5) + 1;
    const ts = DAY + i * 60_000;
    const ack = await js.publish(`count.${NS}.${name}`, JSON.stringify({ delta, ts }));
    truth?.add(NS, name, delta, ts, DEFAULT_PERIODS, ack.seq);
    seqs.push(ack.seq);
  }
  return seqs;
}

/** A node with a logger whose lines the test can read. */
async function nodeWithLog(
  t: ExecutionContext,
  url: string,
  id: string,
): Promise<{ node: TallyNode; lines: string[] }> {
  const lines: string[] = [];
  const logger = pino({ level: "info", base: { node: id } }, { write: (s: string) => void lines.push(s) });
  const node = await inProcessNode(t, url, { id, httpPort: 0, logger, ...FAST });
  return { node, lines };
}

/** A raw read: the reply body and its Tally-Warning header. */
async function rawRead(nc: NatsConnection, name: string, body: object | "" = "") {
  const reply = await nc.request(`count.get.${NS}.${name}`, enc.encode(body === "" ? "" : JSON.stringify(body)), {
    timeout: 5000,
  });
  return {
    body: JSON.parse(dec.decode(reply.data)) as {
      value?: number;
      points?: unknown[];
      logGap?: LogGap;
      error?: unknown;
    },
    warning: reply.headers?.get(LOG_GAP_HEADER) ?? "",
  };
}

/** Every read of every counter (all-time, a day, a series, a counter never seen) carries `gaps[shard]`, or nothing. */
async function assertReads(t: ExecutionContext, nc: NatsConnection, truth: Truth, gaps: (LogGap | undefined)[]) {
  for (const name of [...NAMES, "never-seen"]) {
    const gap = gaps[shardOf(NS, name, SHARDS)];
    const day = bucketIso("day", bucketIndex("day", DAY));
    const all = await rawRead(nc, name);
    const point = await rawRead(nc, name, { period: "day", at: DAY });
    const series = await rawRead(nc, name, { period: "day", from: DAY - 86_400_000, to: DAY });
    t.is(all.body.value, truth.value(NS, name, "all"), `${name} all-time: the counts keep what they have`);
    t.is(point.body.value, truth.value(NS, name, "day", day), `${name} day`);
    for (const r of [all, point, series]) {
      t.deepEqual(r.body.logGap, gap, `${name}: logGap in the reply`);
      if (gap) t.regex(r.warning, new RegExp(`sequence ${gap.restoredSeq + 1}-${gap.logFirstSeq - 1}`), name);
      else t.is(r.warning, "", `${name}: no warning`);
    }
  }
  // A namespace-wide read names every marked shard it gathered from, and warns.
  const top = await nc.request(`count.top.${NS}.all`, JSON.stringify({ limit: 1000 }), { timeout: 10_000 });
  const tb = top.json<{ items: { name: string; value: number }[]; logGaps?: Record<string, LogGap> }>();
  const marked = Object.fromEntries(gaps.flatMap((g, s) => (g ? [[String(s), g]] : [])));
  t.deepEqual(tb.logGaps ?? {}, marked, "logGaps of count.top");
  t.is(/log gap/.test(top.headers?.get(LOG_GAP_HEADER) ?? ""), Object.keys(marked).length > 0, "top warning");
  t.deepEqual(
    tb.items.map((i) => [i.name, i.value]).sort(),
    NAMES.map((n) => [n, truth.value(NS, n, "all")]).sort(),
    "top keeps what the counts have",
  );
  // Error replies are unchanged.
  const bad = await rawRead(nc, NAMES[0]!, { period: "fortnight" });
  t.truthy(bad.body.error);
  t.is(bad.body.logGap, undefined);
}

/** What `/status` and `/metrics` of `node` say of each shard's mark. */
async function httpMarks(node: TallyNode): Promise<{ status: (LogGap | undefined)[]; metric: number[] }> {
  const base = `http://127.0.0.1:${node.httpPort}`;
  const st = (await (await fetch(`${base}/status`)).json()) as { shards: { shard: number; logGap?: LogGap }[] };
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const status: (LogGap | undefined)[] = [];
  for (const s of st.shards) status[s.shard] = s.logGap;
  const metric = Array.from({ length: SHARDS }, (_, s) => {
    const m = new RegExp(`^tally_shard_log_gap\\{shard="${s}"\\} (\\d)$`, "m").exec(metrics);
    return m ? Number(m[1]) : -1;
  });
  return { status, metric };
}

test("log gap - a restore point older than the log marks the shard everywhere until accepted, across restarts", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: SHARDS });
  const url = server.url;
  const jsm = await jetstreamManager(nc);
  const kept = new Truth();

  // A node counts some events, checkpoints them and stops; then events arrive while no node runs.
  const a = await inProcessNode(t, url, { id: "a", ...FAST });
  const first = await publish(nc, 40, kept);
  const client = tallyClient(nc);
  for (const name of NAMES) await client.get(NS, name, { minSeq: first.at(-1)! });
  await a.close();
  await publish(nc, 40); // lost: they leave the log before any node sees them
  const third = await publish(nc, 40, kept);
  await jsm.streams.purge(EVENTS_STREAM, { seq: third[0]! });
  const logFirstSeq = (await jsm.streams.info(EVENTS_STREAM)).state.first_seq;
  t.is(logFirstSeq, third[0]!);

  // A new node restores every shard from before the log's first event: all are marked.
  const { node: b, lines } = await nodeWithLog(t, url, "b");
  const st = await clusterStatus(nc);
  const gaps = st.shards.map(
    (s) => s.logGap && { restoredSeq: s.logGap.restoredSeq, logFirstSeq: s.logGap.logFirstSeq },
  );
  for (let s = 0; s < SHARDS; s++) {
    const lastOfShard = Math.max(...first.filter((_, i) => shardOf(NS, NAMES[i % NAMES.length]!, SHARDS) === s));
    const gap = gaps[s];
    t.truthy(gap, `shard ${s} is marked in tally status`);
    t.is(gap?.logFirstSeq, logFirstSeq);
    t.true(
      gap!.restoredSeq >= lastOfShard && gap!.restoredSeq <= first.at(-1)!,
      `shard ${s} restored ${gap?.restoredSeq}`,
    );
    const line = lines.find((l) => l.includes(`"shard":${s},`) && l.includes("tally accept-gap --shard"));
    t.truthy(line, `an error line for shard ${s}`);
    t.is(JSON.parse(line!).level, 50);
    t.is(JSON.parse(line!).missing, `${gap!.restoredSeq + 1}-${logFirstSeq - 1}`);
  }
  t.deepEqual(await httpMarks(b), { status: gaps, metric: [1, 1, 1, 1] });
  await assertReads(t, nc, kept, gaps);
  const human = (await tallyCli(["--nats", url, "status"])).stdout;
  t.regex(human, /4 shard\(s\) marked with a log gap \(0, 1, 2, 3\)/);
  t.regex(human, new RegExp(`missing\\? ${gaps[0]!.restoredSeq + 1}-${logFirstSeq - 1}`));
  const json = JSON.parse((await tallyCli(["--nats", url, "status", "--json"])).stdout) as typeof st;
  t.is(json.shards[2]!.logGap?.logFirstSeq, logFirstSeq);
  t.is(json.log.firstSeq, logFirstSeq);

  // The mark outlives the node: the next owner restores from a checkpoint written after
  // the gap (which cannot show it) and still marks every reply.
  await b.close();
  const c = await inProcessNode(t, url, { id: "c", httpPort: 0, ...FAST });
  t.true(
    c.stats().every((s) => s.source === "shared"),
    "restored from checkpoints written after the gap",
  );
  await assertReads(t, nc, kept, gaps);
  t.deepEqual((await httpMarks(c)).metric, [1, 1, 1, 1]);

  // Accepting one shard clears its mark at once; the counts stay as they are.
  const one = await tallyCli(["--nats", url, "accept-gap", "--shard", "1"]);
  t.regex(one.stdout, new RegExp(`accepted shard 1: events with sequence ${gaps[1]!.restoredSeq + 1}-`));
  const afterOne = gaps.map((g, s) => (s === 1 ? undefined : g));
  await waitFor(async () => (await rawRead(nc, NAMES[2]!)).body.logGap === undefined, {
    timeoutMs: 10_000,
    message: "the owner to see the accepted mark",
  });
  await assertReads(t, nc, kept, afterOne);
  t.deepEqual((await httpMarks(c)).metric, [1, 0, 1, 1]);
  const all = JSON.parse((await tallyCli(["--nats", url, "accept-gap", "--all", "--json"])).stdout) as {
    accepted: { shard: number }[];
  };
  t.deepEqual(
    all.accepted.map((r) => r.shard),
    [0, 2, 3],
  );
  t.regex((await tallyCli(["--nats", url, "accept-gap", "--shard", "1"])).stdout, /shard 1 is not marked/);
  await waitFor(async () => (await httpMarks(c)).metric.every((m) => m === 0), {
    timeoutMs: 10_000,
    message: "every mark to clear",
  });
  const none = [undefined, undefined, undefined, undefined];
  await assertReads(t, nc, kept, none);
  t.true((await clusterStatus(nc)).shards.every((s) => s.logGap === undefined));

  // And it stays gone after a restart from an empty data dir.
  await c.close();
  await inProcessNode(t, url, { id: "d", ...FAST });
  await assertReads(t, nc, kept, none);
  t.true((await clusterStatus(nc)).shards.every((s) => s.logGap === undefined));
});

test("log gap - a replay that finds events deleted from the log marks the shards it skipped", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: SHARDS });
  const jsm = await jetstreamManager(nc);
  const kept = new Truth();
  const a = await inProcessNode(t, server.url, { id: "a", ...FAST });
  const first = await publish(nc, 16, kept);
  for (const name of NAMES) await tallyClient(nc).get(NS, name, { minSeq: first.at(-1)! });
  await a.close();
  // More events while no node runs; one of them is deleted from the middle of the log.
  const more = new Truth();
  const seqs = await publish(nc, 16, more);
  const gone = seqs[7]!;
  t.true(await jsm.streams.deleteMessage(EVENTS_STREAM, gone));
  t.is((await jsm.streams.info(EVENTS_STREAM)).state.first_seq, 1, "the log's start has not moved");
  await inProcessNode(t, server.url, { id: "b", logLevel: "fatal", ...FAST }); // its error lines are expected
  const gaps = (await clusterStatus(nc)).shards.map(
    (s) => s.logGap && { restoredSeq: s.logGap.restoredSeq, logFirstSeq: s.logGap.logFirstSeq },
  );
  t.deepEqual(gaps, Array(SHARDS).fill({ restoredSeq: gone - 1, logFirstSeq: gone + 1 }));
  // Every event but the deleted one is counted.
  const expected = new Truth();
  const all = [...first, ...seqs];
  for (let i = 0; i < all.length; i++) {
    if (all[i] === gone) continue;
    const j = i % 16;
    expected.add(NS, NAMES[j % NAMES.length]!, (j % 5) + 1, DAY + j * 60_000, DEFAULT_PERIODS, all[i]!);
  }
  await assertReads(t, nc, expected, gaps);
});
