import test from "ava";
import type { ListReply, TopReply } from "@tally/core";
import { tempDir } from "@tally/testing";
import { runTally } from "./helpers/cli.js";
import { FAST_NODE, inProcessNode, spawnNode, tallyCluster, tallyServer, waitBalanced } from "./helpers/cluster.js";
import { within } from "./helpers/deadline.js";
import { NamespaceTruth, publishKnown, type KnownEvent } from "./helpers/namespace-truth.js";

const PERIODS = ["all", "hour", "day", "week", "month"] as const;
const DAY_20 = Date.UTC(2026, 10, 20, 10);
const DAY_21 = Date.UTC(2026, 10, 21, 10);

/** Known events: ties, names with dots and spaces, two days. */
function events(): KnownEvent[] {
  const out: KnownEvent[] = [];
  const add = (name: string, n: number, ts: number) => {
    for (let i = 0; i < n; i++) out.push({ name, delta: 1, ts: ts + i * 1000 });
  };
  add("example.com", 12, DAY_20);
  add("home", 5, DAY_20);
  add("checkout-a", 3, DAY_20);
  add("checkout-b", 3, DAY_21);
  add("checkout.c", 1, DAY_21);
  add("x y", 2, DAY_21);
  add("x z", 1, DAY_21);
  return out;
}

test("cli namespace - top and list print tables; --json prints the replies; list says how to get the next page", async (t) => {
  const { server, nc } = await tallyServer(t, { shards: 4, periods: [...PERIODS] });
  await inProcessNode(t, server.url);
  const env = { TALLY_NATS_URL: server.url };
  const truth = new NamespaceTruth("web", PERIODS);
  await publishKnown(nc, truth, events());
  const minSeq = ["--min-seq", String(truth.lastSeq)];

  const top = await runTally(["top", "web", "--limit", "3", ...minSeq], { env });
  t.is(top.code, 0, top.stderr);
  t.deepEqual(
    truth.top("all", 0, 3).map((i) => [i.name, i.value]),
    [
      ["example.com", 12],
      ["home", 5],
      ["checkout-a", 3], // tied with checkout-b: names ascending
    ],
  );
  t.is(
    top.stdout,
    [
      "top 3 in web, all time",
      "RANK  NAME         VALUE",
      "   1  example.com     12",
      "   2  home             5",
      "   3  checkout-a       3",
      "",
    ].join("\n"),
  );
  const day = await runTally(["top", "web", "--period", "day", "--at", "2026-11-21T23:00:00Z", "--json"], { env });
  const dayReply = JSON.parse(day.stdout) as TopReply;
  t.deepEqual(dayReply.items, truth.top("day", DAY_21, 10));
  t.is(dayReply.bucket, "2026-11-21T00:00:00.000Z");
  const empty = await runTally(["top", "web", "--period", "day", "--at", "2026-11-19"], { env });
  t.is(empty.stdout, "nothing counted in web, day 2026-11-19 (UTC)\n");

  const all = await runTally(["list", "web"], { env });
  t.is(all.code, 0, all.stderr);
  const names = truth.list("all", 0);
  t.is(all.stdout, [`${names.length} names in web, all time`, "NAME", ...names, ""].join("\n"));

  // Paged by --limit: the first page says how to get the next, and that command does.
  const first = await runTally(["list", "web", "--prefix", "checkout", "--limit", "2"], { env });
  t.deepEqual(truth.list("all", 0, "checkout"), ["checkout-a", "checkout-b", "checkout.c"]);
  t.is(
    first.stdout,
    [
      'first 2 names in web, all time, starting with "checkout"',
      "NAME",
      "checkout-a",
      "checkout-b",
      "more follow: tally list web --prefix checkout --limit 2 --after checkout-b",
      "",
    ].join("\n"),
  );
  const next = /more follow: tally (.*)\n/.exec(first.stdout)![1]!.split(" ");
  const second = await runTally(next, { env });
  t.is(
    second.stdout,
    ['1 name in web, all time, starting with "checkout", after "checkout-b"', "NAME", "checkout.c", ""].join("\n"),
  );

  // --json gives the cursor as `next`; a name with a space is quoted in the next command.
  const day21 = truth.list("day", DAY_21);
  t.deepEqual(day21, ["checkout-b", "checkout.c", "x y", "x z"]);
  const dayArgs = ["list", "web", "--period", "day", "--at", "2026-11-21"];
  const json = await runTally([...dayArgs, "--limit", "2", "--json"], { env });
  t.deepEqual(JSON.parse(json.stdout) as ListReply, {
    ns: "web",
    period: "day",
    bucket: "2026-11-21T00:00:00.000Z",
    names: ["checkout-b", "checkout.c"],
    next: "checkout.c",
  });
  const quoted = await runTally([...dayArgs, "--after", "checkout.c", "--limit", "1"], { env });
  t.is(
    quoted.stdout,
    [
      'first 1 name in web, day 2026-11-21 (UTC), after "checkout.c"',
      "NAME",
      "x y",
      "more follow: tally list web --period day --at 2026-11-21T00:00:00.000Z --limit 1 --after 'x y'",
      "",
    ].join("\n"),
  );
  const last = await runTally([...dayArgs, "--after", "x y", "--json"], { env });
  t.deepEqual((JSON.parse(last.stdout) as ListReply).names, ["x z"]);
  t.is((JSON.parse(last.stdout) as ListReply).next, undefined);

  const bad = await runTally(["top", "web", "--limit", "5000"], { env });
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^tally: BAD_REQUEST: /);
});

test.serial(
  "cli namespace - a partial reply is printed with a warning naming the missing shards, exit 3",
  async (t) => {
    // Leases that outlive the test: a killed node's shards stay unanswered throughout.
    const { nc, url } = await tallyCluster(t, { shards: 8, leaseTtlMs: 120_000 });
    const dirs = await Promise.all(["a", "b"].map(() => tempDir("tally-cli-ns-")));
    for (const d of dirs) t.teardown(() => d.remove());
    const nodes = ["a", "b"].map((id, i) =>
      spawnNode(t, url, dirs[i]!.path, ["--id", id, ...FAST_NODE, "--gather-timeout", "300"]),
    );
    await Promise.all(nodes.map((n) => n.ready));
    const status = await waitBalanced(nc, ["a", "b"]);
    const truth = new NamespaceTruth("web", PERIODS);
    await publishKnown(nc, truth, events());
    const env = { TALLY_NATS_URL: url };
    const whole = await runTally(["top", "web", "--limit", "100", "--json", "--min-seq", String(truth.lastSeq)], {
      env,
    });
    t.deepEqual((JSON.parse(whole.stdout) as TopReply).items, truth.top("all", 0, 100));

    const lost = status.shards
      .filter((s) => s.owner === "b")
      .map((s) => s.shard)
      .sort((x, y) => x - y);
    nodes[1]!.proc.kill("SIGKILL");
    await within(nodes[1]!.exited, 10_000, "node b to die");

    const shards = `shard${lost.length === 1 ? "" : "s"} ${lost.join(", ")}`;
    const top = await runTally(["top", "web", "--limit", "100"], { env });
    t.is(top.code, 3, top.stderr);
    t.regex(top.stdout, /^top \d+ in web, all time\nRANK +NAME +VALUE\n/);
    t.regex(top.stderr, new RegExp(`^warning: PARTIAL: ${shards} did not answer in time: this top may leave out`));
    t.regex(top.stderr, /\nhint: .*retry/);
    const topJson = JSON.parse(
      (await runTally(["top", "web", "--limit", "100", "--json"], { env })).stdout,
    ) as TopReply;
    t.true(topJson.partial);
    t.deepEqual(topJson.missingShards, lost);

    const list = await runTally(["list", "web", "--json"], { env });
    t.is(list.code, 3, list.stderr);
    const listed = JSON.parse(list.stdout) as ListReply & { missingShards: number[] };
    t.true(listed.partial);
    t.deepEqual(listed.missingShards, lost);
    t.regex(list.stderr, new RegExp(`^warning: PARTIAL: ${shards} did not answer in time: the list stops there`));
  },
);
