import test from "ava";
import { createServer } from "node:net";
import { tallyClient } from "@tally/client";
import { bucketIndex, bucketIso, parseTime, type Period } from "@tally/core";
import { runTally } from "./helpers/cli.js";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";
import { rng } from "./helpers/checkpoint-state.js";
import { Truth } from "./helpers/truth.js";

const PERIODS: Period[] = ["all", "hour", "day"];

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** A server with one node in this process; the env that points the CLI at it. */
async function cluster(t: Parameters<typeof tallyServer>[0]) {
  const { server, nc } = await tallyServer(t, { shards: 4, periods: PERIODS });
  await inProcessNode(t, server.url);
  return { nc, env: { TALLY_NATS_URL: server.url } };
}

test("cli output - get prints a value, or a series as a table and a sparkline; --json prints the replies", async (t) => {
  const { nc, env } = await cluster(t);
  const client = tallyClient(nc);
  const truth = new Truth();
  for (const [name, delta, ts] of [
    ["home", 3, "2026-11-20T10:00:00Z"],
    ["home", 6, "2026-11-21T05:00:00Z"],
    ["example.com", 1500, "2026-11-20T12:00:00Z"],
  ] as const) {
    const { seq } = await client.inc("web", name, { delta, ts });
    truth.add("web", name, delta, parseTime(ts, "ts"), PERIODS, seq);
  }
  const minSeq = ["--min-seq", String(truth.lastSeq)];
  const day = (iso: string) => bucketIso("day", bucketIndex("day", parseTime(iso, "at")));

  const all = await runTally(["get", "web", "home", ...minSeq], { env });
  t.is(all.code, 0, all.stderr);
  t.is(all.stdout, `web home, all time: ${truth.value("web", "home", "all")}\n`);

  const bucket = await runTally(["get", "web", "example.com", "--period", "day", "--at", "2026-11-20T23:00:00Z"], {
    env,
  });
  t.is(bucket.stdout, "web example.com, day 2026-11-20 (UTC): 1,500\n");
  t.is(truth.value("web", "example.com", "day", day("2026-11-20")), 1500);

  const series = await runTally(
    ["get", "web", "home", "--period", "day", "--from", "2026-11-19", "--to", "2026-11-21T23:00:00Z"],
    { env },
  );
  const [d19, d20, d21] = ["2026-11-19", "2026-11-20", "2026-11-21"].map((d) =>
    truth.value("web", "home", "day", day(d)),
  );
  t.deepEqual([d19, d20, d21], [0, 3, 6]);
  t.is(
    series.stdout,
    [
      "web home, day 2026-11-19 … 2026-11-21 (UTC): 3 buckets, total 9",
      "BUCKET      VALUE",
      "2026-11-19      0",
      "2026-11-20      3",
      "2026-11-21      6",
      "",
      "▁▄█  max 6",
      "",
    ].join("\n"),
  );

  // --json: the node's replies as they are.
  const json = await runTally(["get", "web", "example.com", "--period", "day", "--at", "2026-11-20", "--json"], {
    env,
  });
  t.deepEqual(JSON.parse(json.stdout), {
    ns: "web",
    name: "example.com",
    period: "day",
    bucket: "2026-11-20T00:00:00.000Z",
    value: 1500,
  });
  const jsonSeries = await runTally(
    ["get", "web", "home", "--period", "day", "--from", "2026-11-19", "--to", "2026-11-21", "--json"],
    { env },
  );
  t.deepEqual((JSON.parse(jsonSeries.stdout) as { points: unknown }).points, [
    { bucket: "2026-11-19T00:00:00.000Z", value: 0 },
    { bucket: "2026-11-20T00:00:00.000Z", value: 3 },
    { bucket: "2026-11-21T00:00:00.000Z", value: 6 },
  ]);

  // A single inc: the ack in words, or as JSON.
  const inc = await runTally(["inc", "web", "home", "5", "--ts", "2026-11-21T06:00:00Z"], { env });
  t.regex(inc.stdout, /^counted web home \+5 \(stream sequence (\d+)\)\n$/);
  const seq = Number(/sequence (\d+)/.exec(inc.stdout)![1]);
  t.true(seq > truth.lastSeq);
  const incJson = await runTally(["inc", "web", "home", "--msg-id", "m-1", "--json"], { env });
  const ack = JSON.parse(incJson.stdout) as { seq: number; duplicate: boolean };
  t.is(ack.duplicate, false);
  const again = await runTally(["inc", "web", "home", "--msg-id", "m-1"], { env });
  t.regex(again.stdout, new RegExp(`^not counted again: .*stream sequence ${ack.seq}, de-duplicated`));
  t.is((await client.get("web", "home", { minSeq: ack.seq })).value, 9 + 5 + 1);

  // Server errors keep their code and get a hint.
  const minute = await runTally(["get", "web", "home", "--period", "minute"], { env });
  t.is(minute.code, 1);
  t.regex(minute.stderr, /^tally: PERIOD_NOT_ENABLED: .*\nhint: .*tally init --periods/);
  const reserved = await runTally(["inc", "get", "home", "--json"], { env });
  t.is(reserved.code, 1);
  const e = JSON.parse(reserved.stderr) as { error: { code: string; hint: string } };
  t.is(e.error.code, "RESERVED_NAMESPACE");
  t.regex(e.error.hint, /reserved/);
});

/** Lines for `inc --stdin` with bad ones at known places, and the truth of the good ones. */
function eventLines(count: number, seed: number) {
  const r = rng(seed);
  const names = [...Array.from({ length: 25 }, (_, i) => `k${i}`), "example.com", "a.b.c"];
  const lines: string[] = [];
  const bad: { line: number; code: string }[] = [];
  const allTime = new Map<string, number>();
  const days = new Map<string, number>(); // name|day → value, for lines with a ts
  let good = 0;
  const from = Date.UTC(2026, 10, 20);
  const BAD: [string, string][] = [
    ["web", "BAD_LINE"],
    ["web k1 five", "BAD_DELTA"],
    ["web k1 1 yesterday", "BAD_TS"],
    ["get k1 1", "RESERVED_NAMESPACE"],
    ["we*b k1 2", "BAD_SUBJECT"], // a namespace is a plain token (names are percent-encoded)
    ["web k1 1 2026-11-20T10:00:00Z extra", "BAD_LINE"],
  ];
  for (let i = 0; i < count; i++) {
    if (i % 500 === 250) {
      const [text, code] = BAD[((i / 500) % BAD.length) | 0]!;
      lines.push(text);
      bad.push({ line: lines.length, code });
      continue;
    }
    if (i % 700 === 0) lines.push(i % 1400 === 0 ? "" : "# a comment");
    const name = names[Math.floor(r() * names.length)]!;
    const delta = Math.floor(r() * 25) - 5;
    const ts = r() < 0.5 ? from + Math.floor(r() * 2 * 86_400_000) : undefined;
    lines.push(
      `web ${name}${r() < 0.2 && delta === 1 && ts === undefined ? "" : ` ${delta}`}${ts === undefined ? "" : `\t${ts}`}`,
    );
    good++;
    allTime.set(name, (allTime.get(name) ?? 0) + delta);
    if (ts !== undefined) {
      const k = `${name}|${bucketIso("day", bucketIndex("day", ts))}`;
      days.set(k, (days.get(k) ?? 0) + delta);
    }
  }
  return { text: lines.join("\n") + "\n", lines: lines.length, good, bad, allTime, days };
}

test("cli output - inc --stdin counts every good line exactly and reports each bad line by number (exit 3)", async (t) => {
  const { nc, env } = await cluster(t);
  const input = eventLines(6000, 9);
  t.true(input.bad.length >= 6);

  const run = await runTally(["inc", "--stdin", "--json"], { env, input: input.text });
  t.is(run.code, 3, run.stderr);
  const s = JSON.parse(run.stdout) as {
    lines: number;
    events: number;
    published: number;
    lastSeq: number;
    badLines: number;
    bad: { line: number; code: string; text: string }[];
  };
  t.is(s.lines, input.lines);
  t.is(s.events, input.good);
  t.is(s.badLines, input.bad.length);
  t.deepEqual(
    s.bad.map((b) => ({ line: b.line, code: b.code })),
    input.bad,
  );
  t.true(s.published > 0 && s.published < s.events, "pre-aggregated: fewer publishes than events");

  // Exact against the truth the test kept: all-time, and the day buckets of events with a ts.
  const client = tallyClient(nc);
  for (const [name, value] of input.allTime)
    t.is((await client.get("web", name, { minSeq: s.lastSeq })).value, value, `web ${name} all-time`);
  for (const [k, value] of input.days) {
    const [name, bucket] = k.split("|") as [string, string];
    t.is((await client.get("web", name, { period: "day", at: bucket })).value, value, `web ${name} day ${bucket}`);
  }

  // The human summary: counts, the bad lines as a table, the sequence for --min-seq.
  const human = await runTally(["inc", "--stdin"], { env, input: "web home 2\nweb home\n\nweb\n" });
  t.is(human.code, 3);
  t.regex(human.stderr, /^took [\d.]+ s \([\d,]+ events\/s\)\n$/);
  t.regex(human.stdout, /^counted 2 events from 4 lines: 1 key published, last stream sequence (\d+)\n/);
  const lastSeq = /last stream sequence (\d+)/.exec(human.stdout)![1]!;
  t.regex(
    human.stdout,
    /\n1 bad line skipped \(not counted\):\nLINE +CODE +REASON +TEXT\n4 +BAD_LINE +expected "ns name \[delta\] \[ts\]", got 1 field +web\n/,
  );
  t.regex(human.stdout, new RegExp(`reads that must see them: --min-seq ${lastSeq}\n$`));
  t.is((await client.get("web", "home", { minSeq: Number(lastSeq) })).value, 3);

  const clean = await runTally(["inc", "--stdin"], { env, input: "web home 5\n" });
  t.is(clean.code, 0, clean.stderr);
  t.notRegex(clean.stdout, /bad line/);

  const both = await runTally(["inc", "web", "home", "--stdin"], { env });
  t.is(both.code, 1);
  t.regex(both.stderr, /^tally: BAD_OPTION: --stdin reads ns, name/);
});

test("cli output - errors carry a code and say what to do", async (t) => {
  // No server at all.
  const port = await closedPort();
  const url = `nats://127.0.0.1:${port}`;
  const refused = await runTally(["--nats", url, "get", "web", "home"]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, new RegExp(`^tally: CONNECTION_FAILED: .*\\nhint: is nats-server running at ${url}\\?`));
  const refusedJson = await runTally(["--nats", url, "top", "web", "--json"]);
  t.is(refusedJson.code, 1);
  t.is((JSON.parse(refusedJson.stderr) as { error: { code: string } }).error.code, "CONNECTION_FAILED");

  // A server with the mappings but neither `tally init` nor a node.
  const { server } = await tallyServer(t, { shards: 4, init: false });
  const env = { TALLY_NATS_URL: server.url };
  const status = await runTally(["status"], { env });
  t.is(status.code, 1);
  t.regex(status.stderr, /^tally: NOT_INITIALIZED: .*\nhint: run `tally init`/);
  const inc = await runTally(["inc", "web", "home"], { env });
  t.regex(inc.stderr, /^tally: NO_STREAM: .*\nhint: `tally nats-config --shards P`/);
  const get = await runTally(["get", "web", "home"], { env });
  t.is(get.code, 1);
  t.regex(get.stderr, /^tally: NO_RESPONDERS: .*\nhint: is a Tally node running\? Start one with `tally node/);

  // Mistakes the CLI catches itself.
  const series = await runTally(["get", "web", "home", "--from", "2026-11-20"], { env });
  t.regex(series.stderr, /^tally: BAD_OPTION: a series needs both --from and --to/);
  const period = await runTally(["get", "web", "home", "--period", "fortnight"], { env });
  t.is(period.code, 1);
  t.regex(period.stderr, /--period.*must be all, minute, hour, day, week, month or year/);
});
