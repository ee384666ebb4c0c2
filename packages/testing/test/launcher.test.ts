import test from "ava";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { get } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findNatsServer, startCluster, startServer, TestingError, TestingErrorCode } from "../src/index.js";

/** Connects to a NATS client port and returns the JSON of the INFO line the server sends. */
function readInfo(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let buf = "";
    socket.setEncoding("utf8");
    socket.setTimeout(5000, () => socket.destroy(new Error("no INFO within 5 s")));
    socket.on("error", reject);
    socket.on("data", (chunk: string) => {
      buf += chunk;
      const end = buf.indexOf("\r\n");
      if (end === -1) return;
      socket.destroy();
      const line = buf.slice(0, end);
      if (!line.startsWith("INFO ")) {
        reject(new Error(`expected INFO, got ${line}`));
        return;
      }
      resolve(JSON.parse(line.slice(5)) as Record<string, unknown>);
    });
  });
}

function getJson(url: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => {
        try {
          resolve(JSON.parse(body) as Record<string, unknown>);
        } catch (err) {
          reject(err);
        }
      });
    }).on("error", reject);
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

test("launcher - starts a server that sends an INFO with jetstream on", async (t) => {
  const ns = await startServer();
  t.teardown(() => ns.stop());

  t.regex(ns.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
  t.is(ns.url, `nats://127.0.0.1:${ns.port}`);
  t.true(isAlive(ns.pid));
  const info = await readInfo(ns.port);
  t.is(info["jetstream"], true);
  t.is(info["port"], ns.port);
  const varz = await getJson(`${ns.monitorUrl}/varz`);
  t.is(varz["port"], ns.port);
});

test("launcher - jetstream: false starts a server without JetStream", async (t) => {
  const ns = await startServer({ jetstream: false });
  t.teardown(() => ns.stop());
  const info = await readInfo(ns.port);
  t.not(info["jetstream"], true);
});

test("launcher - restart after kill keeps the port, monitor port and store dir", async (t) => {
  const ns = await startServer();
  t.teardown(() => ns.stop());
  const { port, monitorUrl, storeDir } = ns;
  const firstPid = ns.pid;

  await ns.kill("SIGKILL");
  t.false(isAlive(firstPid));
  t.true(await exists(storeDir), "kill() keeps the store dir");
  await ns.kill(); // already exited: a no-op

  const again = await ns.restart();
  t.is(again, ns);
  t.not(ns.pid, firstPid);
  t.is(ns.port, port);
  t.is(ns.monitorUrl, monitorUrl);
  t.is(ns.storeDir, storeDir);
  t.is((await readInfo(port))["jetstream"], true);
  t.true(await exists(join(storeDir, "jetstream")));
});

test("launcher - restart of a running server stops it first and keeps the port", async (t) => {
  const ns = await startServer();
  t.teardown(() => ns.stop());
  const { port, pid } = ns;
  await ns.restart();
  t.false(isAlive(pid));
  t.is(ns.port, port);
  t.is((await readInfo(port))["port"], port);
});

test("launcher - stop ends the process and removes the store dir; it is idempotent", async (t) => {
  const ns = await startServer();
  t.teardown(() => ns.stop());
  const { pid, storeDir, configFile } = ns;
  t.true(await exists(storeDir));

  await ns.stop();
  t.false(isAlive(pid));
  t.false(await exists(storeDir));
  t.false(await exists(configFile));
  await t.notThrowsAsync(ns.stop());
  const err = await t.throwsAsync(ns.restart(), { instanceOf: TestingError });
  t.is(err?.code, TestingErrorCode.ServerStopped);
});

test("launcher - a caller's storeDir is used and kept on stop", async (t) => {
  const storeDir = await mkdtemp(join(tmpdir(), "tally-launcher-test-"));
  t.teardown(() => rm(storeDir, { recursive: true, force: true }));
  const ns = await startServer({ storeDir });
  t.teardown(() => ns.stop());
  t.is(ns.storeDir, storeDir);
  t.true(await exists(join(storeDir, "jetstream")));
  await ns.stop();
  t.true(await exists(storeDir));
});

test("launcher - extraConfig is appended to the config", async (t) => {
  const mapping = 'mappings { "count.*.*": "tally.ev.{{partition(8,1,2)}}.{{wildcard(1)}}.{{wildcard(2)}}" }';
  const ns = await startServer({ extraConfig: mapping });
  t.teardown(() => ns.stop());
  t.true((await readFile(ns.configFile, "utf8")).includes(mapping));
  t.is((await readInfo(ns.port))["jetstream"], true);
});

test("launcher - a server that fails to start reports the tail of its log", async (t) => {
  const err = await t.throwsAsync(startServer({ extraConfig: "this is { not valid config" }), {
    instanceOf: TestingError,
  });
  t.is(err?.code, TestingErrorCode.ServerStartFailed);
  t.regex(err?.message ?? "", /Last lines of .*nats-server\.log/);
  t.false(await exists(err?.logFile ?? "/"), "the temp dir of a failed start is removed");
});

test("launcher - bad options are rejected with the option's name", async (t) => {
  const err = await t.throwsAsync(startServer({ port: 0 }), {
    instanceOf: TestingError,
  });
  t.is(err?.code, TestingErrorCode.BadOption);
  t.regex(err?.message ?? "", /port/);
});

test("launcher - findNatsServer with NATS_SERVER_BIN pointing to a missing file throws a clear error", (t) => {
  const missing = join(tmpdir(), "no-such-dir", "nats-server");
  const err = t.throws(() => findNatsServer({ NATS_SERVER_BIN: missing }), {
    instanceOf: TestingError,
  });
  t.is(err?.code, TestingErrorCode.NatsServerNotFound);
  t.true(err?.message.includes(missing));
  t.true(err?.message.includes("NATS_SERVER_BIN"));
  t.true(err?.message.includes("apt-get install -y nats-server"));
});

test("launcher - findNatsServer looks in /usr/sbin and /usr/local/bin when PATH lacks them", (t) => {
  const bin = findNatsServer({ PATH: "/nonexistent" });
  t.regex(bin, /nats-server$/);
});

test("launcher - a 3-node cluster agrees on one JetStream meta leader", async (t) => {
  const cluster = await startCluster({ size: 3 });
  t.teardown(() => cluster.stop());

  t.is(cluster.servers.length, 3);
  t.deepEqual(
    cluster.urls,
    cluster.servers.map((s) => s.url),
  );
  t.is(new Set(cluster.urls).size, 3);
  const metas = await Promise.all(
    cluster.servers.map(async (s) => (await getJson(`${s.monitorUrl}/jsz`))["meta_cluster"] as Record<string, unknown>),
  );
  const leader = metas[0]?.["leader"];
  t.is(typeof leader, "string");
  t.truthy(leader);
  for (const meta of metas) {
    t.is(meta["leader"], leader);
    t.is(meta["cluster_size"], 3);
  }
  for (const s of cluster.servers) t.is((await readInfo(s.port))["jetstream"], true);

  const pids = cluster.servers.map((s) => s.pid);
  await cluster.stop();
  for (const pid of pids) t.false(isAlive(pid));
});
