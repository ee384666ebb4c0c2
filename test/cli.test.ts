import test, { type ExecutionContext } from "ava";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { tempDir, trackProcess, waitFor } from "@tally/testing";
import { ROOT, tallyCli } from "./helpers/cluster.js";
import { within } from "./helpers/deadline.js";
import { violations, waitViolations } from "./helpers/access.js";

const tally = tallyCli;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Runs `tally dev` with `args` on a free port under a fresh dir, in its own process group
 * (it starts a nats-server of its own). Resolves once it prints "Tally is running". In
 * teardown the whole group is SIGKILLed, so a failed test leaves no nats-server behind.
 */
async function startDev(t: ExecutionContext, args: string[]) {
  const dir = await tempDir("tally-dev-");
  t.teardown(() => dir.remove());
  const port = await freePort();
  const dev = spawn(
    process.execPath,
    ["--import", "tsx", "packages/cli/src/bin.ts", "dev", "--dir", dir.path, "--port", String(port), ...args],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  trackProcess(dev); // SIGKILLed when this test process exits, even after an ava timeout
  const exited = new Promise<number | string>((r) => dev.once("exit", (code, sig) => r(code ?? sig ?? -1)));
  t.teardown(async () => {
    try {
      process.kill(-dev.pid!, "SIGKILL"); // dev and the nats-server it started
    } catch {
      // the group is gone already
    }
    await within(exited, 10_000, "tally dev to exit after SIGKILL");
  });
  let out = "";
  dev.stdout.on("data", (b: Buffer) => (out += b.toString()));
  dev.stderr.resume();
  await waitFor(() => out.includes("Tally is running"), {
    timeoutMs: 60_000,
    message: 'tally dev to print "Tally is running"',
  });
  return { dev, dir, out: () => out, exited, env: { TALLY_NATS_URL: `nats://127.0.0.1:${port}` } };
}

test("cli - tally dev runs a server and node; inc, get and dlq work against it; SIGTERM exits 0", async (t) => {
  const { dev, dir, out: output, exited, env } = await startDev(t, ["--shards", "8"]);
  const out = output();
  t.regex(out, /pnpm tally inc web home/);
  // It serves the dashboard (on 8080, or a free port when that is taken) and says where.
  const dashboard = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
  t.truthy(dashboard, out);
  t.regex(await (await fetch(dashboard!)).text(), /<title>Tally<\/title>/);
  // The server config it wrote lives with the data, under --dir.
  t.true(out.includes(`config ${dir.path}/nats-server.conf`));
  const { readFile } = await import("node:fs/promises");
  t.regex(await readFile(`${dir.path}/nats-server.conf`, "utf8"), /partition\(8,1,2\)/);

  const a = JSON.parse(
    (await tally(["inc", "web", "home", "3", "--ts", "2026-11-20T10:00:00Z", "--json"], env)).stdout,
  ) as {
    seq: number;
  };
  const b = JSON.parse((await tally(["inc", "web", "home", "--json"], env)).stdout) as { seq: number };
  t.true(b.seq > a.seq);
  const all = JSON.parse((await tally(["get", "web", "home", "--min-seq", String(b.seq), "--json"], env)).stdout) as {
    value: number;
  };
  t.is(all.value, 4);
  const day = JSON.parse(
    (await tally(["get", "web", "home", "--period", "day", "--at", "2026-11-20T23:00:00Z", "--json"], env)).stdout,
  ) as { bucket: string; value: number };
  t.deepEqual(day, { ns: "web", name: "home", period: "day", bucket: "2026-11-20T00:00:00.000Z", value: 3 });

  // A bad event published by some other client shows up in `tally dlq`.
  const nc = await connect({ servers: env.TALLY_NATS_URL });
  t.teardown(() => nc.close());
  await jetstream(nc).publish("count.web.home", "five");
  const listed = await waitFor(
    async () => {
      const { stdout } = await tally(["dlq"], env);
      return stdout.includes("BAD_BODY") ? stdout : undefined;
    },
    // Each attempt spawns the CLI (tsx start-up): seconds on a loaded machine.
    { timeoutMs: 45_000, message: "the bad event in `tally dlq`" },
  );
  t.regex(listed, /tally\.ev\.\d+\.web\.home/);
  t.regex(listed, /"five"/);
  t.regex(listed, /\bdev-1\b/); // the node that wrote the record

  // Only dev's nodes write dead letters: this client (no credentials: user dev) may not
  // forge one, purge them or delete the stream, nor answer gathers.
  const seen = violations(nc);
  nc.publish("tally.dlq.0", "forged");
  nc.subscribe("tally.ns.>");
  for (const api of ["STREAM.PURGE", "STREAM.MSG.DELETE", "STREAM.DELETE"])
    await t.throwsAsync(nc.request(`$JS.API.${api}.TALLY_DLQ`, JSON.stringify({ seq: 1 }), { timeout: 500 }));
  await waitViolations(seen, [
    /^publish tally\.dlq\.0$/,
    /^subscription tally\.ns\.>$/,
    /^publish \$JS\.API\.STREAM\.PURGE\.TALLY_DLQ$/,
    /^publish \$JS\.API\.STREAM\.MSG\.DELETE\.TALLY_DLQ$/,
    /^publish \$JS\.API\.STREAM\.DELETE\.TALLY_DLQ$/,
  ]);
  // The node's data dir is private.
  const { stat } = await import("node:fs/promises");
  t.is((await stat(`${dir.path}/node`)).mode & 0o777, 0o700);

  // Client-side mistakes are clear errors with a code, exit 1.
  const bad = await t.throwsAsync(tally(["inc", "web", "a.b c*"], env).then(() => tally(["get", "top", "x"], env)));
  t.regex((bad as unknown as { stderr: string }).stderr, /^tally: [A-Z_]+: /m);

  dev.kill("SIGTERM");
  t.is(await within(exited, 30_000, "tally dev to exit after SIGTERM"), 0);
});

test("cli - tally dev --nodes 3 runs a local 3-node cluster; tally status shows members, owners, epochs and lag", async (t) => {
  const { dev, out, exited, env } = await startDev(t, ["--shards", "8", "--nodes", "3"]);
  t.regex(out(), /3 nodes \(dev-1, dev-2, dev-3\)/);

  let seq = 0;
  for (let i = 0; i < 8; i++)
    seq = (JSON.parse((await tally(["inc", "web", `page${i}`, "2", "--json"], env)).stdout) as { seq: number }).seq;
  for (let i = 0; i < 8; i++) {
    const r = JSON.parse((await tally(["get", "web", `page${i}`, "--min-seq", String(seq), "--json"], env)).stdout) as {
      value: number;
    };
    t.is(r.value, 2);
  }
  // Every shard ends up owned by one of the three, with ⌊8/3⌋ or ⌈8/3⌉ each.
  const st = await waitFor(
    async () => {
      const s = JSON.parse((await tally(["status", "--json"], env)).stdout) as {
        members: { id: string; live: boolean }[];
        shards: { owner?: string; epoch?: number; lag?: number }[];
      };
      const counts = ["dev-1", "dev-2", "dev-3"].map((m) => s.shards.filter((x) => x.owner === m).length);
      return counts.every((c) => c === 2 || c === 3) && s.shards.every((x) => x.lag !== undefined) ? s : undefined;
    },
    { timeoutMs: 30_000, message: "shards spread over the three dev nodes" },
  );
  t.deepEqual(
    st.members.map((m) => [m.id, m.live]),
    [
      ["dev-1", true],
      ["dev-2", true],
      ["dev-3", true],
    ],
  );
  t.true(st.shards.every((s) => typeof s.epoch === "number" && s.epoch > 0));
  // The readable table.
  const { stdout } = await tally(["status"], env);
  t.regex(stdout, /^cluster: 8 shards \(8 served\)/);
  t.regex(stdout, /MEMBER +HOST +STATE +SHARDS +HEARTBEAT/);
  t.regex(stdout, /dev-2 +\S+ +live +[23] /);
  t.regex(stdout, /SHARD +OWNER +EPOCH +APPLIED +LAG/);
  t.regex(stdout, /\n7 +dev-\d +\d+ +\d+ +0\n?/);

  dev.kill("SIGTERM");
  t.is(await within(exited, 30_000, "tally dev to exit after SIGTERM"), 0);
});
