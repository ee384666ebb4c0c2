import test from "ava";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { tempDir, waitFor } from "@tally/testing";
import { ROOT, tallyCli } from "./helpers/cluster.js";

const tally = tallyCli;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

test("cli - tally dev runs a server and node; inc, get and dlq work against it; SIGTERM exits 0", async (t) => {
  const dir = await tempDir("tally-dev-");
  t.teardown(() => dir.remove());
  const port = await freePort();
  const dev = spawn(
    process.execPath,
    ["--import", "tsx", "packages/cli/src/bin.ts", "dev", "--dir", dir.path, "--port", String(port), "--shards", "8"],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<number | string>((r) => dev.once("exit", (code, sig) => r(code ?? sig ?? -1)));
  t.teardown(async () => {
    if (dev.exitCode === null && dev.signalCode === null) {
      dev.kill("SIGKILL");
      await exited;
    }
  });
  let out = "";
  dev.stdout.on("data", (b: Buffer) => (out += b.toString()));
  dev.stderr.resume();
  await waitFor(() => out.includes("Tally is running"), { timeoutMs: 30_000, message: "tally dev did not start" });
  t.regex(out, /pnpm tally inc web home/);
  // The server config it wrote lives with the data, under --dir.
  t.true(out.includes(`config ${dir.path}/nats-server.conf`));
  const { readFile } = await import("node:fs/promises");
  t.regex(await readFile(`${dir.path}/nats-server.conf`, "utf8"), /partition\(8,1,2\)/);
  const env = { TALLY_NATS_URL: `nats://127.0.0.1:${port}` };

  const a = JSON.parse((await tally(["inc", "web", "home", "3", "--ts", "2026-11-20T10:00:00Z"], env)).stdout) as {
    seq: number;
  };
  const b = JSON.parse((await tally(["inc", "web", "home"], env)).stdout) as { seq: number };
  t.true(b.seq > a.seq);
  const all = JSON.parse((await tally(["get", "web", "home", "--min-seq", String(b.seq)], env)).stdout) as {
    value: number;
  };
  t.is(all.value, 4);
  const day = JSON.parse(
    (await tally(["get", "web", "home", "--period", "day", "--at", "2026-11-20T23:00:00Z"], env)).stdout,
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
    { timeoutMs: 10_000, message: "dead letter not listed" },
  );
  t.regex(listed, /tally\.ev\.\d+\.web\.home/);
  t.regex(listed, /"five"/);

  // Client-side mistakes are clear errors with a code, exit 1.
  const bad = await t.throwsAsync(tally(["inc", "web", "a.b c*"], env).then(() => tally(["get", "top", "x"], env)));
  t.regex((bad as unknown as { stderr: string }).stderr, /^tally: [A-Z_]+: /m);

  dev.kill("SIGTERM");
  t.is(await exited, 0);
});
