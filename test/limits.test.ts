import test from "ava";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ClientError, tallyClient } from "@tally/client";
import { EventError, MAX_EVENT_BYTES, MAX_TOKEN_BYTES, shardOf } from "@tally/core";
import { EVENTS_STREAM, clusterStatus, listDeadLetters } from "@tally/node";
import { tempDir, waitFor } from "@tally/testing";
import { inProcessNode, spawnNode, tallyCli, tallyServer } from "./helpers/cluster.js";

const enc = new TextEncoder();

interface ErrorReply {
  error: { code: string; message: string; retryable: boolean };
}

/** A raw request, its reply as JSON. */
async function ask<T>(nc: NatsConnection, subject: string, body: unknown = ""): Promise<T> {
  const data = typeof body === "string" ? body : JSON.stringify(body);
  return (await nc.request(subject, data, { timeout: 10_000 })).json<T>();
}

async function lastSeq(nc: NatsConnection): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM)).state.last_seq;
}

test("limits - event body: MAX_EVENT_BYTES counts, one byte more is dead-lettered BODY_TOO_LARGE with both sizes", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 4 });
  await inProcessNode(t, server.url);
  const js = jetstream(nc);
  const atLimit = enc.encode("7".padEnd(MAX_EVENT_BYTES, " "));
  const over = enc.encode("7".padEnd(MAX_EVENT_BYTES + 1, " "));
  t.is(atLimit.length, 4096);
  await js.publish("count.web.body", atLimit);
  const bad = await js.publish("count.web.body", over);
  const good = await js.publish("count.web.body", enc.encode("2"));
  t.is((await tallyClient(nc).get("web", "body", { minSeq: good.seq })).value, 9);
  const [d] = await waitFor(async () => ((await listDeadLetters(nc)).length > 0 ? listDeadLetters(nc) : undefined), {
    timeoutMs: 30_000,
    message: "the oversized event in the dead-letter stream",
  });
  t.is(d!.seq, bad.seq);
  t.is(d!.code, "BODY_TOO_LARGE");
  t.is(d!.reason, "event body is 4097 bytes, over the limit of 4096; a valid body needs under 100");
});

test("limits - names over 255 bytes: the client refuses before publishing, a read is BAD_SUBJECT, a stored event is dead-lettered", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 4 });
  await inProcessNode(t, server.url);
  const client = tallyClient(nc);
  const longest = "n".repeat(MAX_TOKEN_BYTES);
  // 128 two-byte characters: 256 bytes, though only 128 characters.
  const tooLong = "é".repeat(128);
  const before = await lastSeq(nc);
  for (const [ns, name, what] of [
    ["web", tooLong, "name"],
    [tooLong, "home", "ns"],
    ["web", "a.".repeat(64), "name"], // 128 characters, 320 bytes once the dots are percent-encoded
  ] as const) {
    const e = await t.throwsAsync(client.inc(ns, name), { instanceOf: EventError });
    t.is(e?.code, "BAD_SUBJECT");
    t.regex(e?.message ?? "", new RegExp(`^${what} ".+ is (256|320) bytes long, the limit is 255$`));
    t.throws(() => void client.increment(ns, name), { instanceOf: EventError });
    await t.throwsAsync(client.get(ns, name), { instanceOf: EventError, message: /the limit is 255/ });
  }
  t.is(await lastSeq(nc), before, "nothing was published");

  // The longest name counts and reads like any other.
  const ack = await client.inc("web", longest, { delta: 4 });
  t.is((await client.get("web", longest, { minSeq: ack.seq })).value, 4);

  // A raw read of a too-long name: a clear error, not silence.
  const r = await ask<ErrorReply>(nc, `count.get.web.${tooLong}`);
  t.is(r.error.code, "BAD_SUBJECT");
  t.regex(r.error.message, /^name ".+ is 256 bytes long, the limit is 255$/);
  t.false(r.error.retryable);

  // A raw producer's event with a too-long name is stored (NATS allows long tokens)
  // and dead-lettered, never counted; the shard goes on.
  const js = jetstream(nc);
  const bad = await js.publish(`count.web.${tooLong}`, "");
  const next = await client.inc("web", longest);
  t.is((await client.get("web", longest, { minSeq: next.seq })).value, 5);
  const dead = await waitFor(async () => (await listDeadLetters(nc)).find((d) => d.seq === bad.seq), {
    timeoutMs: 30_000,
    message: "the event with a too-long name in the dead-letter stream",
  });
  t.is(dead.code, "BAD_SUBJECT");
  t.regex(dead.reason, /is 256 bytes long, the limit is 255/);
});

test("limits - series points and top/list limits: at the limit answers, one more is refused naming both", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 4 });
  await inProcessNode(t, server.url, { maxSeriesPoints: 24 });
  const client = tallyClient(nc);
  const ack = await client.inc("web", "home", { ts: "2026-11-21T05:30:00Z" });
  const day = await client.series("web", "home", {
    period: "hour",
    from: "2026-11-21T00:00:00Z",
    to: "2026-11-21T23:59:59Z",
    minSeq: ack.seq,
  });
  t.is(day.points.length, 24);
  t.is(
    day.points.reduce((sum, p) => sum + p.value, 0),
    1,
  );
  const e = await t.throwsAsync(
    client.series("web", "home", { period: "hour", from: "2026-11-21T00:00:00Z", to: "2026-11-22T00:00:00Z" }),
    { instanceOf: ClientError },
  );
  t.is(e?.code, "TOO_MANY_POINTS");
  t.is(
    e?.message,
    "the range spans 25 hour buckets, more than the limit of 24; use a coarser period or a narrower range",
  );

  for (const kind of ["top", "list"] as const) {
    const ok = await ask<{ items?: unknown[]; names?: unknown[] }>(nc, `count.${kind}.web.all`, { limit: 1000 });
    t.deepEqual(ok.items ?? ok.names, kind === "top" ? [{ name: "home", value: 1 }] : ["home"]);
    const r = await ask<ErrorReply>(nc, `count.${kind}.web.all`, { limit: 1001 });
    t.is(r.error.code, "BAD_REQUEST", kind);
    t.is(r.error.message, "limit 1001 must be an integer from 1 to 1000", kind);
  }
});

test("limits - reads waiting per shard: past the limit they are refused at once (TOO_MANY_WAITING), the waiting ones answer", async (t) => {
  const { server, nc, shards } = await tallyServer(t, { shards: 4 });
  const node = await inProcessNode(t, server.url, { maxWaitingReads: 5, readWaitMs: 30_000, httpPort: 0 });
  const client = tallyClient(nc);
  const first = await client.inc("web", "home");
  // A counter on another shard: the bound is per shard.
  const other = ["a", "b", "c", "d", "e", "f", "g", "h"].find(
    (n) => shardOf("web", n, shards) !== shardOf("web", "home", shards),
  )!;
  // Eight reads of the next event, sent at once: the server delivers them in order, so
  // the first five wait and the last three are refused without waiting.
  const started = performance.now();
  const replies = Array.from({ length: 8 }, () =>
    nc
      .request("count.get.web.home", JSON.stringify({ minSeq: first.seq + 1 }), { timeout: 30_000 })
      .then((m) => ({ at: performance.now() - started, body: m.json<ErrorReply | { value: number }>() })),
  );
  const refused = await Promise.all(replies.slice(5));
  for (const r of refused) {
    t.true("error" in r.body && r.body.error.code === "TOO_MANY_WAITING", JSON.stringify(r.body));
    const err = (r.body as ErrorReply).error;
    t.true(err.retryable);
    t.regex(
      err.message,
      /already has 5 reads waiting .*--max-waiting-reads.*needs sequence \d+, the shard is at \d+: retry$/,
    );
  }
  // Another shard still lets a read wait, and it answers once its event is counted.
  const elsewhere = client.get("web", other, { minSeq: first.seq + 1 });
  const next = await client.inc("web", "home", { delta: 2 });
  t.is(next.seq, first.seq + 1);
  for (const r of await Promise.all(replies.slice(0, 5))) t.deepEqual((r.body as { value: number }).value, 3);
  t.is((await elsewhere).value, 0);
  // The node keeps serving, and counts the refusals by outcome.
  t.is((await client.get("web", "home")).value, 3);
  const metrics = await (await fetch(`http://127.0.0.1:${node.httpPort}/metrics`)).text();
  t.regex(metrics, /^tally_reads_total\{outcome="TOO_MANY_WAITING"\} 3$/m);
});

test("limits - memory bound: a node over it takes no shards, the other takes all, status and metrics say why, counts exact", async (t) => {
  const { server, nc, shards } = await tallyServer(t, { shards: 8 });
  // 1 byte: always over. It starts first, so a peer that counted on it would leave shards unserved.
  const over = await inProcessNode(t, server.url, { id: "over", maxMemoryBytes: 1, httpPort: 0 });
  t.is(over.stats().length, 0);
  const peer = await inProcessNode(t, server.url, { id: "peer" });
  await waitFor(() => peer.stats().length === shards && peer.stats().every((s) => s.ready), {
    timeoutMs: 30_000,
    message: "the peer serving every shard",
  });
  t.is(over.stats().length, 0, "the node over its bound took nothing");

  // Counts stay exact, every counter on some shard of the peer.
  const client = tallyClient(nc);
  const truth = new Map<string, number>();
  let seq = 0;
  for (let i = 0; i < 40; i++) {
    const name = `page-${i % 20}`;
    seq = (await client.inc("web", name, { delta: i + 1 })).seq;
    truth.set(name, (truth.get(name) ?? 0) + i + 1);
  }
  for (const [name, value] of truth) t.is((await client.get("web", name, { minSeq: seq })).value, value, name);

  // It says why, everywhere.
  const reason = /^resident memory \d+ MiB is over --max-memory 1 B$/;
  const st = await clusterStatus(nc);
  const members = new Map(st.members.map((m) => [m.id, m]));
  t.regex(members.get("over")?.refusingShards ?? "", reason);
  t.is(members.get("peer")?.refusingShards, undefined);
  t.true(st.shards.every((s) => s.owner === "peer"));
  const status = await (await fetch(`http://127.0.0.1:${over.httpPort}/status`)).json();
  t.regex((status as { memory: { refusingShards: string } }).memory.refusingShards, reason);
  const metrics = await (await fetch(`http://127.0.0.1:${over.httpPort}/metrics`)).text();
  t.regex(metrics, /^tally_refusing_shards 1$/m);
  t.regex(metrics, /^tally_memory_limit_bytes 1$/m);
  const cli = await tallyCli(["status"], { TALLY_NATS_URL: server.url });
  t.regex(cli.stdout, /over +\S+ +live, refusing shards +0 /);
  t.regex(cli.stdout, /^member over takes no new shards: resident memory \d+ MiB is over --max-memory 1 B$/m);
});

test("limits - tally node takes the limits as flags: --max-memory, --max-waiting-reads, --max-series-points", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 4 });
  const dirs = await Promise.all([tempDir("tally-limits-"), tempDir("tally-limits-")]);
  t.teardown(() => Promise.all(dirs.map((d) => d.remove())));
  // Two processes, so two resident sets: one bounded to 1 byte, one with small read limits.
  const over = spawnNode(t, server.url, dirs[0]!.path, ["--id", "over", "--max-memory", "1"]);
  const small = spawnNode(t, server.url, dirs[1]!.path, [
    "--id",
    "small",
    "--max-waiting-reads",
    "3",
    "--max-series-points",
    "5",
  ]);
  await Promise.all([over.ready, small.ready]);
  t.regex(over.stderr(), /"msg":"resident memory \d+ MiB is over --max-memory 1 B: taking no more shards"/);
  const st = await waitFor(
    async () => {
      const s = await clusterStatus(nc);
      return s.shards.every((x) => x.owner === "small") ? s : undefined;
    },
    { timeoutMs: 30_000, message: "the node without a memory bound serving every shard" },
  );
  const byId = new Map(st.members.map((m) => [m.id, m]));
  t.regex(byId.get("over")?.refusingShards ?? "", /^resident memory \d+ MiB is over --max-memory 1 B$/);
  t.is(byId.get("over")?.shards, 0);
  t.is(byId.get("small")?.refusingShards, undefined);

  const client = tallyClient(nc, { retryDeadlineMs: 0 });
  const ack = await client.inc("web", "home");
  const series = { period: "hour", from: "2026-11-21T00:00:00Z", minSeq: ack.seq } as const;
  t.is((await client.series("web", "home", { ...series, to: "2026-11-21T04:00:00Z" })).points.length, 5);
  const e = await t.throwsAsync(client.series("web", "home", { ...series, to: "2026-11-21T05:00:00Z" }));
  t.is((e as ClientError).code, "TOO_MANY_POINTS");
  t.regex(e?.message ?? "", /more than the limit of 5;/);
  const replies = await Promise.all(
    Array.from({ length: 4 }, () =>
      nc
        .request("count.get.web.home", JSON.stringify({ minSeq: ack.seq + 1 }), { timeout: 30_000 })
        .then((m) => m.json<ErrorReply>()),
    ),
  );
  t.deepEqual(
    replies.map((r) => r.error.code),
    ["TIMEOUT", "TIMEOUT", "TIMEOUT", "TOO_MANY_WAITING"],
  );
});
