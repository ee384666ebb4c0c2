import anyTest, { type TestFn } from "ava";
import { stat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { tallyClient, type TallyClient } from "@tally/client";
import { dlqSubject, shardOf } from "@tally/core";
import { DLQ_STREAM, EVENTS_STREAM, initCluster, listDeadLetters, startNode, type TallyNode } from "@tally/node";
import { tempDir, waitFor, type TempDir } from "@tally/testing";
import { runTally } from "./helpers/cli.js";
import { within } from "./helpers/deadline.js";
import {
  AUTH_USERS,
  startAuthServer,
  violations,
  waitViolations,
  type AuthServer,
  type AuthUser,
} from "./helpers/access.js";

/**
 * deploy/tally-auth.conf, run as shipped: team `web` counts and reads only `web`, the node
 * runs on its own restricted user, and nobody but a node writes dead-letter records.
 * The tests run in order and share one server, node and ground truth.
 */
const SHARDS = 8;
const NODE_ID = "acl-node";

interface Ctx {
  auth: AuthServer;
  dir: TempDir;
  node: TallyNode;
  admin: NatsConnection;
  conns: NatsConnection[];
  /** What each team published and got acked: ns → name → value. */
  truth: Record<"web" | "mobile", Map<string, number>>;
  dataDir: string;
}

const test = anyTest as TestFn<Ctx>;

async function as(t: { context: Ctx }, who: AuthUser): Promise<NatsConnection> {
  const { server, passwords } = t.context.auth;
  const team = who === "web" || who === "mobile";
  const nc = await connect({
    servers: server.url,
    user: AUTH_USERS[who].user,
    pass: passwords[who],
    ...(team ? { inboxPrefix: `_INBOX_${who}` } : {}),
  });
  t.context.conns.push(nc);
  return nc;
}

/** Counts `delta` on ns/name as that team and records it in the ground truth. */
async function count(t: { context: Ctx }, c: TallyClient, ns: "web" | "mobile", name: string, delta: number) {
  const r = await c.inc(ns, name, { delta });
  const m = t.context.truth[ns];
  m.set(name, (m.get(name) ?? 0) + delta);
  return r.seq;
}

test.before(async (t) => {
  const auth = await startAuthServer(SHARDS);
  const dir = await tempDir("tally-access-");
  t.context = { auth, dir, conns: [], truth: { web: new Map(), mobile: new Map() } } as unknown as Ctx;
  t.context.admin = await as(t, "admin");
  await initCluster(t.context.admin, { shards: SHARDS });
  // A nested dir that does not exist yet: the node creates it, private.
  t.context.dataDir = join(dir.path, "data", "node");
  t.context.node = await startNode({
    connection: { servers: auth.server.url, user: AUTH_USERS.node.user, pass: auth.passwords.node },
    dataDir: t.context.dataDir,
    id: NODE_ID,
    httpPort: 0,
    logLevel: "error",
  });
});

test.after.always(async (t) => {
  const c = t.context;
  if (c.node) await within(c.node.close(), 60_000, "the node to close");
  await Promise.allSettled((c.conns ?? []).map((nc) => nc.close()));
  await c.auth?.server.stop();
  await c.dir?.remove();
});

test.serial(
  "access - web counts and reads web with the CLI (user and password, its own inbox prefix), and is refused mobile",
  async (t) => {
    const { server, passwords } = t.context.auth;
    const env = {
      TALLY_NATS_URL: server.url,
      TALLY_NATS_USER: "web",
      TALLY_NATS_PASSWORD: passwords.web,
      TALLY_NATS_INBOX_PREFIX: "_INBOX_web",
    };
    const inc = await runTally(["inc", "web", "home", "3", "--json"], { env });
    t.is(inc.code, 0, inc.stderr);
    t.context.truth.web.set("home", 3);
    const { seq } = JSON.parse(inc.stdout) as { seq: number };
    const get = await runTally(["get", "web", "home", "--min-seq", String(seq), "--json"], { env });
    t.is(get.code, 0, get.stderr);
    t.is((JSON.parse(get.stdout) as { value: number }).value, 3);
    const top = await runTally(["top", "web", "--json"], { env });
    t.is(top.code, 0, top.stderr);
    t.deepEqual((JSON.parse(top.stdout) as { items: unknown[] }).items, [{ name: "home", value: 3 }]);
    // Another namespace is refused at once, saying so (not a timeout).
    const other = await runTally(["get", "mobile", "home"], { env });
    t.is(other.code, 1);
    t.regex(other.stderr, /^tally: PERMISSION_DENIED: .*tally\.rd\.\d+\.mobile\.home/m);
  },
);

test.serial(
  "access - web cannot publish to, read, top or list another namespace, nor see its events or replies",
  async (t) => {
    const mobile = tallyClient(await as(t, "mobile"));
    let last = 0;
    for (const [name, delta] of [
      ["home", 7],
      ["secret", 2],
      ["checkout", 5],
    ] as const)
      last = await count(t, mobile, "mobile", name, delta);
    const web = await as(t, "web");
    const seen = violations(web);
    web.publish("count.mobile.home", "100");
    web.publish(`tally.ev.${shardOf("mobile", "home", SHARDS)}.mobile.home`, "100");
    for (const subject of ["count.get.mobile.home", "count.top.mobile.all", "count.list.mobile.all"])
      await t.throwsAsync(web.request(subject, "", { timeout: 500 }), undefined, subject);
    // Events, internal subjects and the other team's replies are not for web to read.
    for (const subject of ["count.>", "tally.>", "_INBOX_mobile.>", "_INBOX.>"]) web.subscribe(subject);
    // Nor the stream itself.
    await t.throwsAsync(web.request(`$JS.API.STREAM.INFO.${EVENTS_STREAM}`, "", { timeout: 500 }));
    await waitViolations(seen, [
      /^publish tally\.ev\.\d+\.mobile\.home$/,
      /^publish tally\.rd\.\d+\.mobile\.home$/,
      /^publish count\.top\.mobile\.all$/,
      /^publish count\.list\.mobile\.all$/,
      /^subscription count\.>$/,
      /^subscription tally\.>$/,
      /^subscription _INBOX_mobile\.>$/,
      /^subscription _INBOX\.>$/,
      /^publish \$JS\.API\.STREAM\.INFO\.TALLY_EVENTS$/,
    ]);
    // Mobile's counts are exactly what mobile published: nothing of web's got through.
    for (const [name, value] of t.context.truth.mobile) {
      const r = await mobile.get("mobile", name, { minSeq: last });
      t.is(r.value, value, name);
    }
  },
);

test.serial("access - a namespace-wide reply never holds another namespace's names", async (t) => {
  const web = tallyClient(await as(t, "web"));
  const mobile = tallyClient(await as(t, "mobile"));
  let last = 0;
  // Shared names (home), and names only the other namespace has.
  for (const [name, delta] of [
    ["home", 1],
    ["about", 4],
    ["pricing", 2],
  ] as const)
    last = Math.max(last, await count(t, web, "web", name, delta));
  for (const [name, delta] of [
    ["home", 9],
    ["onboarding", 3],
  ] as const)
    last = Math.max(last, await count(t, mobile, "mobile", name, delta));
  await web.get("web", "home", { minSeq: last }); // every shard caught up? top's replies wait per shard too
  for (const [ns, c] of [
    ["web", web],
    ["mobile", mobile],
  ] as const) {
    const truth = t.context.truth[ns];
    const expected = [...truth].map(([name, value]) => ({ name, value }));
    expected.sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1));
    const top = await waitFor(
      async () => {
        const r = await c.top(ns, "all", { limit: 1000 });
        return r.items.length === expected.length ? r : undefined;
      },
      { timeoutMs: 10_000, message: `top of ${ns} to hold its ${expected.length} names` },
    );
    t.deepEqual(top.items, expected, `top ${ns}`);
    t.false(top.partial ?? false);
    const list = await c.listPage(ns, "all", { limit: 1000 });
    t.deepEqual(list.names, [...truth.keys()].sort(), `list ${ns}`);
  }
});

test.serial("access - a client cannot forge or hide a dead-letter record", async (t) => {
  const web = await as(t, "web");
  const seen = violations(web);
  const jsm = await jetstreamManager(t.context.admin);
  const before = (await jsm.streams.info(DLQ_STREAM)).state.messages;
  // The record the node will write for the next event has the id dlq-<its seq>: send it first.
  const next = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq + 1;
  const h = headers();
  h.set("Nats-Msg-Id", `dlq-${next}`);
  h.set("Tally-Error-Code", "FORGED");
  h.set("Tally-Source-Seq", String(next));
  web.publish(dlqSubject(shardOf("web", "bad", SHARDS)), "forged", { headers: h });
  // Nor can web remove records.
  for (const api of ["STREAM.PURGE", "STREAM.MSG.DELETE", "STREAM.DELETE"])
    await t.throwsAsync(web.request(`$JS.API.${api}.${DLQ_STREAM}`, JSON.stringify({ seq: 1 }), { timeout: 500 }));
  await waitViolations(seen, [
    /^publish tally\.dlq\.\d+$/,
    /^publish \$JS\.API\.STREAM\.PURGE\.TALLY_DLQ$/,
    /^publish \$JS\.API\.STREAM\.MSG\.DELETE\.TALLY_DLQ$/,
    /^publish \$JS\.API\.STREAM\.DELETE\.TALLY_DLQ$/,
  ]);
  // Now the bad event itself, acked by JetStream on web's inbox.
  const ack = JSON.parse((await web.request("count.web.bad", "not a number", { timeout: 5000 })).string()) as {
    seq: number;
  };
  t.is(ack.seq, next);
  const records = await waitFor(
    async () => {
      const all = await listDeadLetters(t.context.admin);
      return all.length > before ? all : undefined;
    },
    { timeoutMs: 15_000, message: "the node's dead-letter record" },
  );
  t.is(records.length, before + 1);
  const r = records.at(-1)!;
  t.like(r, { seq: next, code: "BAD_BODY", node: NODE_ID });
  t.is(new TextDecoder().decode(r.body), "not a number");
  t.false(records.some((d) => d.code === "FORGED"));
});

test.serial("access - the dashboard's API works on the node's restricted user", async (t) => {
  const base = `http://127.0.0.1:${t.context.node.httpPort}`;
  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    const body = (await res.json()) as Record<string, unknown>;
    t.is(res.status, 200, `${path}: ${JSON.stringify(body)}`);
    return body;
  };
  const top = (await get("/api/top?ns=web&period=all&limit=1000")) as { items: { name: string; value: number }[] };
  const want = [...t.context.truth.web].map(([name, value]) => ({ name, value }));
  want.sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1));
  t.deepEqual(top.items, want);
  const series = (await get("/api/series?ns=web&name=home&period=day&points=3")) as { points: unknown[] };
  t.is(series.points.length, 3);
  const cluster = (await get("/api/cluster")) as { shards: { owner?: string }[] };
  t.true(cluster.shards.every((s) => s.owner === NODE_ID));
  const dlq = (await get("/api/dead-letters")) as { items: { node?: string }[] };
  t.true(dlq.items.length > 0);
});

test.serial(
  "access - the node works on its own restricted user, and that user cannot count, delete or purge",
  async (t) => {
    // Everything above was served by the node on user tally-node: not one refusal.
    const log = await readFile(t.context.auth.server.logFile, "utf8");
    t.deepEqual(
      log.split("\n").filter((l) => l.includes(`User "${AUTH_USERS.node.user}"`)),
      [],
    );
    const nc = await as(t, "node");
    const seen = violations(nc);
    nc.publish("count.web.home", "1000");
    for (const api of [
      `STREAM.DELETE.${EVENTS_STREAM}`,
      `STREAM.PURGE.${DLQ_STREAM}`,
      `STREAM.UPDATE.${EVENTS_STREAM}`,
    ])
      await t.throwsAsync(nc.request(`$JS.API.${api}`, "{}", { timeout: 500 }));
    nc.subscribe("count.web.*");
    await waitViolations(seen, [
      /^publish tally\.ev\.\d+\.web\.home$/,
      /^publish \$JS\.API\.STREAM\.DELETE\.TALLY_EVENTS$/,
      /^publish \$JS\.API\.STREAM\.PURGE\.TALLY_DLQ$/,
      /^publish \$JS\.API\.STREAM\.UPDATE\.TALLY_EVENTS$/,
      /^subscription count\.web\.\*$/,
    ]);
    // Its data dir, and the parent it had to create, are private to its user.
    for (const d of [t.context.dataDir, join(t.context.dataDir, "..")]) t.is((await stat(d)).mode & 0o777, 0o700, d);
  },
);
