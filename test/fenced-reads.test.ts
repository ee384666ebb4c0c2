import { readFile, writeFile } from "node:fs/promises";
import test from "ava";
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { shardOf } from "@tally/core";
import { initCluster } from "@tally/node";
import { tempDir, waitFor } from "@tally/testing";
import { AUTH_USERS, startAuthServer } from "./helpers/access.js";
import { inProcessNode } from "./helpers/cluster.js";
import { scrapeMetrics } from "./helpers/prom-text.js";

/**
 * Fencing, as the metrics show it: a node whose lease renewals stop reaching the leases
 * bucket (its permission is taken away by a config reload) sees its leases lapse, refuses
 * the reads that still reach it ("fenced": left unanswered, someone else may own the shard
 * now) and counts them in tally_reads_total{outcome="fenced"}. Once it may renew again, it
 * takes its shards back and the count is exact.
 */
test("fenced reads - a node whose leases lapse leaves reads unanswered and counts them as fenced", async (t) => {
  const shards = 4;
  const { server, passwords } = await startAuthServer(shards);
  t.teardown(() => server.stop());
  const admin = await connect({ servers: server.url, user: AUTH_USERS.admin.user, pass: passwords.admin });
  t.teardown(() => admin.close());
  await initCluster(admin, { shards, leaseTtlMs: 2000 });
  const dir = await tempDir("tally-fenced-");
  t.teardown(() => dir.remove());
  const node = await inProcessNode(t, server.url, {
    connection: { servers: server.url, user: AUTH_USERS.node.user, pass: passwords.node },
    dataDir: dir.path,
    id: "fenced",
    httpPort: 0,
  });
  // One counter on each shard, so every shard's lease lapse can fence a read.
  const names: string[] = [];
  for (let i = 0; names.length < shards; i++) {
    const name = `n${i}`;
    if (!names.some((n) => shardOf("web", n, shards) === shardOf("web", name, shards))) names.push(name);
  }
  const js = jetstream(admin);
  let last = 0;
  for (const name of names) last = (await js.publish(`count.web.${name}`, "2")).seq;
  const read = async (name: string, timeoutMs: number) => {
    const r = await admin.request(`count.get.web.${name}`, JSON.stringify({ minSeq: last }), { timeout: timeoutMs });
    return r.json<{ value?: number; error?: { code: string } }>();
  };
  for (const name of names) t.is((await read(name, 10_000)).value, 2);
  const fenced = async () =>
    (await scrapeMetrics(node.httpPort!)).value("tally_reads_total", { outcome: "fenced" }) ?? 0;
  t.is(await fenced(), 0);

  // The config as the server started (the launcher pins its random ports in the file
  // afterwards; a reload cannot change ports), and the same without the leases permission.
  const config = (await readFile(server.configFile, "utf8"))
    .replace(/^listen: .*$/m, 'listen: "127.0.0.1:-1"')
    .replace(/^http: .*$/m, 'http: "127.0.0.1:-1"');
  const withoutLeases = config.replace('"$KV.tally_leases.>"\n', "");
  t.not(withoutLeases, config, "the node's leases permission was in the config");
  const reload = async (text: string) => {
    await writeFile(server.configFile, text);
    process.kill(server.pid, "SIGHUP");
  };

  // A read is fenced only if it reaches a shard between its lease's lapse and the node's
  // next renewal round, which drops the shard: so take renewals away, read every shard
  // until each is dropped or a read was fenced, give renewals back, and go again.
  let unanswered = 0;
  for (let round = 1; round <= 8 && (await fenced()) === 0; round++) {
    await reload(withoutLeases);
    const dropped = new Set<string>();
    await waitFor(
      async () => {
        await Promise.all(
          names.map(async (name) => {
            const r = await read(name, 300).catch(() => undefined);
            if (r === undefined) {
              dropped.add(name);
              unanswered++;
            } else if (r.value !== undefined) t.is(r.value, 2, "a value is never wrong");
          }),
        );
        return dropped.size === names.length || (await fenced()) > 0;
      },
      { timeoutMs: 30_000, intervalMs: 1, message: `round ${round}: every shard dropped, or a fenced read` },
    );
    await reload(config);
    // Renewals allowed again: the node takes its shards back and every count is exact.
    for (const name of names)
      t.is(
        await waitFor(async () => (await read(name, 2000).catch(() => undefined))?.value, {
          timeoutMs: 60_000,
          message: `round ${round}: the node to serve ${name} again`,
        }),
        2,
      );
    t.log(`round ${round}: ${await fenced()} fenced`);
  }
  t.true((await fenced()) > 0, "a read was fenced and counted");
  t.true(unanswered > 0, "a fenced read is left unanswered");
});
