/**
 * Tally's headline figures, each against a raw baseline measured in the same run (machines are
 * shared and noisy, so the ratios are what to compare across runs):
 *
 *   1. end-to-end ingest: acked publishes → visible to `minSeq` reads on every shard,
 *      vs. the same publishes counted by a bare ordered consumer;
 *   2. read latency on an idle node, vs. a bare NATS request-reply echo;
 *   3. replay after restart with an empty data dir, vs. a bare consumer reading the stream;
 *   4. heap bytes per (counter, period, bucket) entry, vs. a plain Map<number, number>.
 *
 *   cd /work/main && npx tsx bench/ingest.ts [--events N] [--window W] [--keys K]
 *
 * Prints a table and writes every raw number to bench/results/ingest.json. See bench/README.md.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem, platform, release } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type PubAck } from "@nats-io/jetstream";
import { shardOf } from "@tally/core";
import { EVENTS_STREAM, initCluster, natsMappings } from "@tally/node";
import { tallyClient } from "@tally/client";
import { findNatsServer, startServer, tempDir, type NatsServer, type TempDir } from "@tally/testing";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RESULTS = join(ROOT, "bench", "results", "ingest.json");
const SHARDS = 64;
const NS = "bench";
const EMPTY = new Uint8Array(0);
const enc = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Options

function intArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`--${name} must be a positive integer, got ${process.argv[i + 1]}`);
  return v;
}

const N = intArg("events", 200_000);
const WINDOW = intArg("window", 2000);
const KEYS = intArg("keys", 10_000);
const READS = intArg("reads", 5000);
const WARMUP = Math.min(20_000, N);

// ---------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const now = () => process.hrtime.bigint();
const msSince = (t: bigint, to: bigint = now()) => Number(to - t) / 1e6;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function latencyStats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  return {
    count: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    p999: percentile(s, 99.9),
    max: s[s.length - 1] ?? NaN,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/** User+system CPU seconds of a process, from /proc (Linux); undefined elsewhere or once gone. */
function procCpuSec(pid: number | undefined): number | undefined {
  if (pid === undefined || pid < 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 (utime, stime) of proc(5); `rest` starts at field 3. Clock ticks: 100/s.
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Busy and total jiffies of the whole machine. */
function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

interface CpuMark {
  at: bigint;
  procs: Record<string, number | undefined>;
  self: NodeJS.CpuUsage;
  machine: ReturnType<typeof machineCpu>;
}

function cpuMark(pids: Record<string, number | undefined>): CpuMark {
  const procs: Record<string, number | undefined> = {};
  for (const [k, pid] of Object.entries(pids)) procs[k] = procCpuSec(pid);
  return { at: now(), procs, self: process.cpuUsage(), machine: machineCpu() };
}

/** CPU used between two marks: seconds per process and utilisation (1.0 = one core busy). */
function cpuDelta(a: CpuMark, b: CpuMark) {
  const wallSec = Number(b.at - a.at) / 1e9;
  const out: Record<string, { cpuSec: number; cores: number } | undefined> = {};
  for (const k of new Set([...Object.keys(a.procs), ...Object.keys(b.procs)])) {
    const x = a.procs[k];
    const y = b.procs[k];
    // A process spawned inside the window has no start figure: all its CPU is in the window.
    out[k] = y === undefined ? undefined : { cpuSec: y - (x ?? 0), cores: (y - (x ?? 0)) / wallSec };
  }
  const self = (b.self.user + b.self.system - a.self.user - a.self.system) / 1e6;
  out.bench = { cpuSec: self, cores: self / wallSec };
  const m =
    a.machine && b.machine ? (b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total) : undefined;
  return { wallSec, processes: out, machineBusy: m };
}

// ---------------------------------------------------------------------------------------------
// Child processes

const children = new Set<Child>();

/** A `node --import tsx` child with line-oriented stdout and the tail of its stderr. */
class Child {
  readonly proc: ChildProcess;
  readonly name: string;
  readonly exited: Promise<number | string>;
  readonly spawnedAt = now();
  #lines: string[] = [];
  #stderr = "";
  #waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];

  constructor(name: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.name = name;
    this.proc = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    children.add(this);
    this.exited = new Promise((resolve) =>
      this.proc.once("exit", (code, signal) => {
        children.delete(this);
        resolve(code ?? signal ?? -1);
      }),
    );
    let out = "";
    this.proc.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      let nl;
      while ((nl = out.indexOf("\n")) >= 0) {
        this.#line(out.slice(0, nl));
        out = out.slice(nl + 1);
      }
    });
    let err = "";
    this.proc.stderr!.on("data", (b: Buffer) => {
      const s = b.toString();
      this.#stderr = (this.#stderr + s).slice(-20_000);
      err += s;
      let nl;
      while ((nl = err.indexOf("\n")) >= 0) {
        this.#line(err.slice(0, nl));
        err = err.slice(nl + 1);
      }
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Log lines (pino JSON) at warn level or above, counted by message. */
  readonly warnings: Record<string, number> = {};

  stderrTail(): string {
    return this.#stderr.slice(-3000);
  }

  #line(l: string): void {
    if (l.startsWith("{") && l.includes('"level"')) {
      try {
        const j = JSON.parse(l) as { level?: number; msg?: string };
        if ((j.level ?? 0) >= 40) this.warnings[j.msg ?? "?"] = (this.warnings[j.msg ?? "?"] ?? 0) + 1;
      } catch {
        // not a log line
      }
    }
    this.#lines.push(l);
    if (this.#lines.length > 1000) this.#lines.shift();
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.pred(l)) return true;
      w.resolve(l);
      return false;
    });
  }

  /** The first line (stdout or stderr, already seen or to come) matching `pred`. */
  waitLine(pred: (l: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    const seen = this.#lines.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.stderrTail()}`)),
        timeoutMs,
      );
      const done = (l: string) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.#waiters.push({ pred, resolve: done });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code}) before ${what}\n${this.stderrTail()}`));
      });
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  async stop(graceMs = 15_000): Promise<number | string> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.exited;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** `tally node` via the CLI, with an HTTP port for /status (diagnostics). */
async function startNodeProcess(
  url: string,
  dataDir: string,
): Promise<{ child: Child; httpPort: number; readyAt: bigint }> {
  const child = new Child(
    "tally node",
    [
      "--import",
      "tsx",
      "packages/cli/src/bin.ts",
      "--nats",
      url,
      "node",
      "--data",
      dataDir,
      "--log-level",
      "info",
      "--http",
      "0",
    ],
    { TALLY_LOG_LEVEL: "info" },
  );
  const line = await child.waitLine((l) => l.includes('"msg":"node ready"'), 120_000, "node ready");
  const readyAt = now();
  const httpPort = (JSON.parse(line) as { httpPort?: number }).httpPort;
  if (typeof httpPort !== "number") throw new Error(`node ready line has no httpPort: ${line}`);
  return { child, httpPort, readyAt };
}

async function startRawConsumer(
  url: string,
  stream: string,
  count: number,
  extra: string[] = [],
): Promise<{ child: Child; readyAt: bigint }> {
  const child = new Child("raw consumer", [
    "--import",
    "tsx",
    "bench/raw-consumer.ts",
    "--nats",
    url,
    "--stream",
    stream,
    "--count",
    String(count),
    ...extra,
  ]);
  await child.waitLine((l) => l === "ready", 60_000, "ready");
  return { child, readyAt: now() };
}

async function rawConsumerDone(
  child: Child,
  timeoutMs: number,
): Promise<{ at: bigint; count: number; consumeMs: number; cpuMs: number }> {
  const line = await child.waitLine((l) => l.startsWith("done "), timeoutMs, "done");
  const at = now();
  return { at, ...(JSON.parse(line.slice(5)) as { count: number; consumeMs: number; cpuMs: number }) };
}

// ---------------------------------------------------------------------------------------------
// Node /status sampling: how fast the node applies, independent of the read path

interface Sample {
  /** When the /status request was sent and when its answer came, since the phase start. */
  sentMs: number;
  ms: number;
  applied: number;
}

class StatusSampler {
  readonly samples: Sample[] = [];
  #stop = false;
  #loop: Promise<void>;

  constructor(port: number, since: bigint, everyMs = 200) {
    this.#loop = (async () => {
      while (!this.#stop) {
        try {
          const sentMs = msSince(since);
          const r = await fetch(`http://127.0.0.1:${port}/status`);
          const body = (await r.json()) as { shards: { applied: number }[] };
          this.samples.push({ sentMs, ms: msSince(since), applied: body.shards.reduce((a, s) => a + s.applied, 0) });
        } catch {
          // node not up or going down: skip the sample
        }
        await sleep(everyMs);
      }
    })();
  }

  async stop(): Promise<Sample[]> {
    this.#stop = true;
    await this.#loop;
    return this.samples;
  }
}

/** First sample time at which `target` events were applied, and the best rate over ≥ 1 s. */
function applyFigures(samples: Sample[], target: number) {
  const reached = samples.find((s) => s.applied >= target);
  let peak = 0;
  for (let i = 1; i < samples.length; i++) {
    const b = samples[i]!;
    // the latest sample at least 1 s before this one
    let j = i - 1;
    while (j > 0 && b.ms - samples[j]!.ms < 1000) j--;
    const a = samples[j]!;
    if (b.ms - a.ms >= 1000) peak = Math.max(peak, ((b.applied - a.applied) / (b.ms - a.ms)) * 1000);
  }
  return { appliedAllAtMs: reached?.ms, peakAppliedPerSec: peak };
}

/** A lower bound of what the node had applied at `ms`: the last answer received by then. */
function appliedAt(samples: Sample[], ms: number): number | undefined {
  let best: Sample | undefined;
  for (const s of samples) if (s.ms <= ms) best = s;
  return best?.applied;
}

// ---------------------------------------------------------------------------------------------
// Publishing and reading

/** Publishes `n` empty events with at most `window` acked JetStream publishes in flight. */
async function publishAll(js: JetStreamClient, subjects: string[], n: number, window: number) {
  let inflight = 0;
  let sent = 0;
  let acked = 0;
  let lastSeq = 0;
  let error: unknown;
  let wake: (() => void) | undefined;
  const settle = () => {
    inflight--;
    if (wake) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  const onAck = (ack: PubAck) => {
    acked++;
    if (ack.seq > lastSeq) lastSeq = ack.seq;
    settle();
  };
  const onErr = (err: unknown) => {
    error ??= err;
    settle();
  };
  const t0 = now();
  while (sent < n || inflight > 0) {
    while (sent < n && inflight < window && error === undefined) {
      inflight++;
      js.publish(subjects[sent % subjects.length]!, EMPTY).then(onAck, onErr);
      sent++;
    }
    if (error !== undefined && inflight === 0) break;
    await new Promise<void>((r) => (wake = r));
  }
  if (error !== undefined) throw new Error(`publish failed after ${acked} acks: ${String(error)}`, { cause: error });
  return { startedAt: t0, doneAt: now(), lastSeq, acked };
}

class ReadFailed extends Error {}

/**
 * One read, retried until it answers a value: reply-side TIMEOUT / NOT_READY (the node's own
 * wait for `minSeq` ran out) and transport errors (no responders, request timeout) retry at once.
 */
async function readUntil(nc: NatsConnection, subject: string, body: Uint8Array, deadline: number) {
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const m = await nc.request(subject, body, { timeout: 10_000 });
      const r = m.json<{ value?: number; error?: { code: string; message: string } }>();
      if (!r.error) return { value: r.value ?? NaN, attempts, at: now() };
      if (r.error.code !== "TIMEOUT" && r.error.code !== "NOT_READY")
        throw new ReadFailed(`${subject}: ${r.error.code} ${r.error.message}`);
    } catch (err) {
      if (err instanceof ReadFailed) throw err;
      await sleep(5);
    }
    if (Date.now() > deadline) throw new Error(`${subject}: no answer before the deadline after ${attempts} attempts`);
  }
}

/** One key per shard among k0..k{KEYS-1}, to probe every shard. */
function keyPerShard(): string[] {
  const byShard = new Map<number, string>();
  for (let k = 0; k < KEYS && byShard.size < SHARDS; k++) {
    const name = `k${k}`;
    const s = shardOf(NS, name, SHARDS);
    if (!byShard.has(s)) byShard.set(s, name);
  }
  if (byShard.size < SHARDS)
    throw new Error(`only ${byShard.size} of ${SHARDS} shards have a key among k0..k${KEYS - 1}`);
  return [...byShard.values()];
}

/** What key `k<k>` must count after `n` events published round-robin over the keys. */
const expectedValue = (k: number, n: number) => Math.floor(n / KEYS) + (k < n % KEYS ? 1 : 0);

/**
 * Waits until every shard answers a read with `minSeq`; the instant the last one answered.
 * Each answer must already hold every event of its key (guarantee 2), or it is counted wrong.
 */
async function allShardsAt(nc: NatsConnection, keys: string[], minSeq: number, n: number) {
  const body = enc.encode(JSON.stringify({ minSeq }));
  const deadline = Date.now() + 170_000;
  const rs = await Promise.all(keys.map((k) => readUntil(nc, `count.get.${NS}.${k}`, body, deadline)));
  let last = rs[0]!.at;
  for (const r of rs) if (r.at > last) last = r.at;
  const wrong = keys.filter((k, i) => rs[i]!.value !== expectedValue(Number(k.slice(1)), n));
  return { at: last, attempts: rs.reduce((a, r) => a + r.attempts, 0), minSeqReadsWrong: wrong.length };
}

/** Starts bench/latency-probe.ts; `stop()` ends it and returns its latency figures. */
async function startLatencyProbe(url: string, prefix: string) {
  const child = new Child("latency probe", [
    "--import",
    "tsx",
    "bench/latency-probe.ts",
    "--nats",
    url,
    "--prefix",
    prefix,
    "--keys",
    String(KEYS),
  ]);
  await child.waitLine((l) => l === "ready", 60_000, "ready");
  return {
    async stop() {
      const line = child.waitLine((l) => l.startsWith("stats "), 30_000, "stats");
      child.proc.kill("SIGTERM");
      const r = JSON.parse((await line).slice(6)) as { ms: number[]; errors: number };
      await child.exited;
      return { ...latencyStats(r.ms), errors: r.errors };
    },
  };
}

/** Reads every key's all-time value with the client and compares with what was published. */
async function checkExact(nc: NatsConnection, n: number) {
  const client = tallyClient(nc, { retryDeadlineMs: 60_000 });
  let sum = 0;
  let wrongKeys = 0;
  const concurrency = 100;
  let next = 0;
  const worker = async () => {
    while (next < KEYS) {
      const k = next++;
      const r = await client.get(NS, `k${k}`);
      sum += r.value;
      if (r.value !== expectedValue(k, n)) wrongKeys++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { sum, expected: n, wrongKeys, exact: sum === n && wrongKeys === 0 };
}

// ---------------------------------------------------------------------------------------------
// The run

interface Cleanup {
  (): Promise<void>;
}
const cleanups: Cleanup[] = [];
let cleaning: Promise<void> | undefined;
function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of [...children]) await c.stop(5000).catch(() => undefined);
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => console.error("cleanup:", err));
  })();
  return cleaning;
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

async function measureMemory() {
  const child = new Child("memory", ["--expose-gc", "--import", "tsx", "bench/memory.ts"]);
  const line = await child.waitLine((l) => l.startsWith("{"), 150_000, "memory JSON");
  await child.exited;
  return JSON.parse(line) as {
    entries: number;
    counters: number;
    events: number;
    applyEventsPerSec: number;
    tally: { bytesPerEntry: number; bytes: number };
    tallyWithDirty: { bytesPerEntry: number };
    baseline: { bytesPerEntry: number };
    nestedMaps: { bytesPerEntry: number };
  };
}

async function main() {
  const startedAt = new Date();
  const env = {
    date: startedAt.toISOString(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    totalMemGiB: +(totalmem() / 2 ** 30).toFixed(1),
    loadavgAtStart: loadavg(),
    natsServer: execFileSync(findNatsServer(), ["--version"]).toString().trim(),
  };
  const params = { events: N, window: WINDOW, keys: KEYS, shards: SHARDS, reads: READS, warmupEvents: WARMUP };
  log(`N=${N} window=${WINDOW} keys=${KEYS} on ${env.cpus} cpus, ${env.node}, ${env.natsServer}`);

  // 4. Memory first: no server running yet, so it competes with nothing.
  log("memory: filling ShardCounts in a child process");
  const memory = await measureMemory();

  const server: NatsServer = await startServer({ extraConfig: natsMappings(SHARDS) });
  cleanups.push(() => server.stop());
  const nc = await connect({ servers: server.url, name: "tally-bench" });
  cleanups.push(() => nc.close());
  await initCluster(nc, { shards: SHARDS });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);

  let dataDir: TempDir = await tempDir("tally-bench-node-");
  cleanups.push(() => dataDir.remove());
  let node = await startNodeProcess(server.url, dataDir.path);
  const pids = () => ({ node: node.child.pid, natsServer: server.pid });

  const keys = Array.from({ length: KEYS }, (_, k) => `k${k}`);
  const rawSubjects = keys.map((k) => `raw.${k}`);
  const tallySubjects = keys.map((k) => `count.${NS}.${k}`);
  const probeKeys = keyPerShard();

  // Warm the publishing path (JIT, buffers) so neither side gets it cold.
  await jsm.streams.add({ name: "WARM", subjects: ["warm.>"], storage: "file" } as Parameters<
    typeof jsm.streams.add
  >[0]);
  await publishAll(
    js,
    keys.map((k) => `warm.${k}`),
    WARMUP,
    WINDOW,
  );
  await jsm.streams.delete("WARM");

  // The echo responder (baseline of 2.) also answers a slow probe during the raw ingest.
  const echo = new Child("echo", ["--import", "tsx", "bench/echo.ts", "--nats", server.url]);
  await echo.waitLine((l) => l === "ready", 60_000, "ready");

  // 1a. Raw ingest: same publishes, counted by a bare consumer in its own process.
  log("ingest: raw baseline");
  await jsm.streams.add({ name: "RAW", subjects: ["raw.>"], storage: "file" } as Parameters<typeof jsm.streams.add>[0]);
  const rawCons = await startRawConsumer(server.url, "RAW", N);
  let probe = await startLatencyProbe(server.url, "echo.k");
  let mark = cpuMark({ ...pids(), consumer: rawCons.child.pid });
  const rawPub = await publishAll(js, rawSubjects, N, WINDOW);
  const rawDone = await rawConsumerDone(rawCons.child, 170_000);
  const echoUnderLoad = await probe.stop();
  const rawCpu = cpuDelta(mark, cpuMark({ ...pids(), consumer: rawCons.child.pid }));
  await rawCons.child.exited;
  const rawIngest = {
    publishMs: msSince(rawPub.startedAt, rawPub.doneAt),
    totalMs: msSince(rawPub.startedAt, rawDone.at),
    consumerCpuMs: rawDone.cpuMs,
    consumerCount: rawDone.count,
  };
  const rawIngestRate = N / (rawIngest.totalMs / 1000);
  await jsm.streams.delete("RAW");

  // 1b. Tally ingest: publish, then every shard must answer a read with minSeq = last ack.
  log("ingest: tally");
  probe = await startLatencyProbe(server.url, `count.get.${NS}.k`);
  mark = cpuMark(pids());
  const pubStart = now();
  let sampler = new StatusSampler(node.httpPort, pubStart);
  const tallyPub = await publishAll(js, tallySubjects, N, WINDOW);
  const readsUnderLoad = await probe.stop();
  const visible = await allShardsAt(nc, probeKeys, tallyPub.lastSeq, N);
  const tallyCpu = cpuDelta(mark, cpuMark(pids()));
  let samples = await sampler.stop();
  const pubMs = msSince(pubStart, tallyPub.doneAt);
  const tallyIngest = {
    publishMs: pubMs,
    totalMs: msSince(pubStart, visible.at),
    lastSeq: tallyPub.lastSeq,
    readAttempts: visible.attempts,
    nodeAppliedAtPublishEnd: appliedAt(samples, pubMs),
    ...applyFigures(samples, N),
    minSeqReadsWrong: visible.minSeqReadsWrong,
    nodeWarnings: { ...node.child.warnings },
    samples,
  };
  const tallyIngestRate = N / (tallyIngest.totalMs / 1000);
  log("ingest: checking exactness");
  const ingestExact = await checkExact(nc, N);
  ingestExact.exact &&= visible.minSeqReadsWrong === 0;

  // 2. Read latency on the idle node, interleaved with a bare echo responder.
  log("reads: latency");
  await sleep(2500); // let the node's periodic snapshot of the ingest finish
  const tallyLat: number[] = [];
  const echoLat: number[] = [];
  const clientLat: number[] = [];
  const client = tallyClient(nc);
  for (let i = -500; i < READS; i++) {
    const k = keys[(i + 500) % KEYS]!;
    let t = now();
    const r = await nc.request(`count.get.${NS}.${k}`, EMPTY, { timeout: 5000 });
    const tl = msSince(t);
    t = now();
    await nc.request(`echo.${k}`, EMPTY, { timeout: 5000 });
    const el = msSince(t);
    t = now();
    await client.get(NS, k);
    const cl = msSince(t);
    if (r.json<{ error?: unknown }>().error) throw new Error(`read ${k} failed: ${r.string()}`);
    if (i >= 0) {
      tallyLat.push(tl);
      echoLat.push(el);
      clientLat.push(cl);
    }
  }
  await echo.stop();
  const reads = {
    tally: latencyStats(tallyLat),
    echo: latencyStats(echoLat),
    client: latencyStats(clientLat),
    // Informative: one read every 50 ms while each side's ingest was publishing.
    duringIngest: { tally: readsUnderLoad, echo: echoUnderLoad },
  };

  // 3. Replay: stop the node, drop its data, restart; baseline first with nothing else running.
  log("replay: stopping the node");
  const nodeExit = await node.child.stop(30_000);
  await dataDir.remove();
  const lastSeq = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;

  log("replay: raw baseline");
  const rawSpawn = now();
  mark = cpuMark({ natsServer: server.pid });
  const rawRep = await startRawConsumer(server.url, EVENTS_STREAM, lastSeq);
  const rawRepDone = await rawConsumerDone(rawRep.child, 170_000);
  const rawRepCpu = cpuDelta(mark, cpuMark({ natsServer: server.pid }));
  await rawRep.child.exited;
  const rawReplay = {
    totalMs: msSince(rawSpawn, rawRepDone.at),
    afterReadyMs: msSince(rawRep.readyAt, rawRepDone.at),
    consumeMs: rawRepDone.consumeMs,
    consumerCpuMs: rawRepDone.cpuMs,
  };

  // Informative: Tally's consumer layout (one filtered consumer per shard) with no node behind it.
  log("replay: raw baseline with one filtered consumer per shard");
  const filtSpawn = now();
  mark = cpuMark({ natsServer: server.pid });
  const filt = await startRawConsumer(server.url, EVENTS_STREAM, lastSeq, ["--filters", String(SHARDS)]);
  const filtDone = await rawConsumerDone(filt.child, 170_000);
  const filtCpu = cpuDelta(mark, cpuMark({ natsServer: server.pid }));
  await filt.child.exited;
  const filteredReplay = {
    eventsPerSec: lastSeq / (msSince(filtSpawn, filtDone.at) / 1000),
    totalMs: msSince(filtSpawn, filtDone.at),
    afterReadyMs: msSince(filt.readyAt, filtDone.at),
    consumeMs: filtDone.consumeMs,
    consumerCpuMs: filtDone.cpuMs,
    cpu: filtCpu,
  };

  log("replay: tally");
  dataDir = await tempDir("tally-bench-node-");
  const tallySpawn = now();
  mark = cpuMark({ natsServer: server.pid });
  node = await startNodeProcess(server.url, dataDir.path);
  sampler = new StatusSampler(node.httpPort, tallySpawn);
  const replayed = await allShardsAt(nc, probeKeys, lastSeq, N);
  const tallyRepCpu = cpuDelta(mark, cpuMark(pids()));
  samples = await sampler.stop();
  const tallyReplay = {
    totalMs: msSince(tallySpawn, replayed.at),
    afterReadyMs: msSince(node.readyAt, replayed.at),
    readyMs: msSince(tallySpawn, node.readyAt),
    readAttempts: replayed.attempts,
    ...applyFigures(samples, lastSeq),
    minSeqReadsWrong: replayed.minSeqReadsWrong,
    nodeWarnings: { ...node.child.warnings },
    samples,
    previousNodeExit: nodeExit,
  };
  log("replay: checking exactness");
  const replayExact = await checkExact(nc, N);
  replayExact.exact &&= replayed.minSeqReadsWrong === 0;

  // ------------------------------------------------------------------ results
  const ingestRatio = tallyIngestRate / rawIngestRate;
  const replayRate = lastSeq / (tallyReplay.totalMs / 1000);
  const rawReplayRate = lastSeq / (rawReplay.totalMs / 1000);
  const replayRatio = replayRate / rawReplayRate;
  const results = {
    env,
    params,
    ingest: {
      tally: {
        eventsPerSec: tallyIngestRate,
        ...tallyIngest,
        exact: ingestExact.exact,
        check: ingestExact,
        cpu: tallyCpu,
      },
      raw: { eventsPerSec: rawIngestRate, ...rawIngest, cpu: rawCpu },
      ratio: ingestRatio,
      target: "ratio >= 0.8",
      met: ingestRatio >= 0.8 && ingestExact.exact,
    },
    reads: { ...reads, target: "tally p99 < 2 ms", met: reads.tally.p99 < 2 },
    replay: {
      tally: {
        eventsPerSec: replayRate,
        eventsPerSecAfterReady: lastSeq / (tallyReplay.afterReadyMs / 1000),
        ...tallyReplay,
        exact: replayExact.exact,
        check: replayExact,
        cpu: tallyRepCpu,
      },
      raw: {
        eventsPerSec: rawReplayRate,
        eventsPerSecAfterReady: lastSeq / (rawReplay.afterReadyMs / 1000),
        ...rawReplay,
        cpu: rawRepCpu,
      },
      rawFilteredPerShard: filteredReplay,
      events: lastSeq,
      ratio: replayRatio,
      target: "ratio >= 0.8",
      met: replayRatio >= 0.8 && replayExact.exact,
    },
    memory: { ...memory, target: "tally bytes/entry <= 150", met: memory.tally.bytesPerEntry <= 150 },
    loadavgAtEnd: loadavg(),
  };
  await mkdir(join(ROOT, "bench", "results"), { recursive: true });
  await writeFile(RESULTS, JSON.stringify(results, null, 2) + "\n");

  printTable(results);

  // Where the time goes: what to look at when a ratio is off.
  const f = (v: number | undefined, d = 0) => (v === undefined || Number.isNaN(v) ? "?" : v.toFixed(d));
  const k = (v: number) => `${(v / 1000).toFixed(1)}k/s`;
  const cores = (c: ReturnType<typeof cpuDelta>, name: string) => f(c.processes[name]?.cores, 2);
  const ti = results.ingest.tally;
  const ri = results.ingest.raw;
  const tr = results.replay.tally;
  const rr = results.replay.raw;
  console.log("\ndetails");
  console.log(
    `  ingest   publish-only: tally ${k(N / (ti.publishMs / 1000))}, raw ${k(N / (ri.publishMs / 1000))}; ` +
      `tally visible ${f(ti.totalMs - ti.publishMs)} ms after the last ack (node had applied ${f(ti.nodeAppliedAtPublishEnd)} of ${N} then)`,
  );
  console.log(
    `           CPU cores: tally run bench ${cores(ti.cpu, "bench")}, nats-server ${cores(ti.cpu, "natsServer")}, node ${cores(ti.cpu, "node")}, machine busy ${f((ti.cpu.machineBusy ?? NaN) * 100)}%; ` +
      `raw run bench ${cores(ri.cpu, "bench")}, nats-server ${cores(ri.cpu, "natsServer")}, consumer ${f(ri.consumerCpuMs / 1000 / ri.cpu.wallSec, 2)}, machine busy ${f((ri.cpu.machineBusy ?? NaN) * 100)}%`,
  );
  console.log(
    `           node CPU per event ${f(((ti.cpu.processes.node?.cpuSec ?? NaN) / N) * 1e6, 1)} µs, raw consumer ${f((ri.consumerCpuMs / N) * 1e3, 1)} µs`,
  );
  const du = reads.duringIngest;
  console.log(
    `  reads    during ingest (1 per 50 ms): tally p50/p99 ${f(du.tally.p50, 2)} / ${f(du.tally.p99, 2)} ms, max ${f(du.tally.max, 0)} ms; ` +
      `echo during raw ingest ${f(du.echo.p50, 2)} / ${f(du.echo.p99, 2)} ms, max ${f(du.echo.max, 0)} ms`,
  );
  console.log(
    `           client.get p50/p99 ${f(reads.client.p50, 2)} / ${f(reads.client.p99, 2)} ms; p99.9 tally ${f(reads.tally.p999, 2)}, echo ${f(reads.echo.p999, 2)} ms`,
  );
  console.log(
    `  replay   tally: node ready ${f(tr.readyMs)} ms after spawn, all shards at seq ${lastSeq} after ${f(tr.totalMs)} ms, ` +
      `peak apply ${k(tr.peakAppliedPerSec)}; nats-server ${cores(tr.cpu, "natsServer")} cores, node ${cores(tr.cpu, "node")} cores`,
  );
  const warned = Object.entries(tr.nodeWarnings);
  if (warned.length > 0) console.log(`           node warnings: ${warned.map(([m, c]) => `${c}× "${m}"`).join(", ")}`);
  console.log(
    `           raw: 1 ordered consumer ${f(rr.totalMs)} ms from spawn (${f(rr.afterReadyMs)} after ready); ` +
      `${SHARDS} filtered consumers ${f(filteredReplay.totalMs)} ms (${k(filteredReplay.eventsPerSec)}, nats-server ${cores(filteredReplay.cpu, "natsServer")} cores)`,
  );
  console.log(
    `  memory   ${memory.entries} entries over ${memory.counters} counters; with dirty marks (before a snapshot) ${f(memory.tallyWithDirty.bytesPerEntry, 1)} B/entry; ` +
      `one Map per counter ${f(memory.nestedMaps.bytesPerEntry, 1)} B/entry; pure apply ${k(memory.applyEventsPerSec)}`,
  );
  console.log(`\nresults: ${RESULTS}`);
}

type Results = {
  ingest: {
    tally: { eventsPerSec: number; exact: boolean };
    raw: { eventsPerSec: number };
    ratio: number;
    met: boolean;
  };
  reads: { tally: { p50: number; p99: number }; echo: { p50: number; p99: number }; met: boolean };
  replay: {
    tally: { eventsPerSec: number; exact: boolean };
    raw: { eventsPerSec: number };
    ratio: number;
    met: boolean;
  };
  memory: { tally: { bytesPerEntry: number }; baseline: { bytesPerEntry: number }; met: boolean };
};

function printTable(r: Results): void {
  const int = (v: number) => Math.round(v).toLocaleString("en-US");
  const ms = (a: number, b: number) => `${a.toFixed(2)} / ${b.toFixed(2)}`;
  const yes = (b: boolean) => (b ? "yes" : "NO");
  // Truncated, so a ratio just under a target never prints as meeting it.
  const ratio = (v: number) => (Math.floor(v * 100) / 100).toFixed(2);
  const rows: string[][] = [
    ["metric", "tally", "baseline", "ratio", "target", "met"],
    [
      "ingest events/s",
      int(r.ingest.tally.eventsPerSec),
      int(r.ingest.raw.eventsPerSec),
      ratio(r.ingest.ratio),
      "≥ 0.8",
      yes(r.ingest.met),
    ],
    ["ingest exact", String(r.ingest.tally.exact), "", "", "true", yes(r.ingest.tally.exact)],
    [
      "read p50 ms / p99 ms",
      ms(r.reads.tally.p50, r.reads.tally.p99),
      ms(r.reads.echo.p50, r.reads.echo.p99),
      "",
      "p99 < 2 ms",
      yes(r.reads.met),
    ],
    [
      "replay events/s",
      int(r.replay.tally.eventsPerSec),
      int(r.replay.raw.eventsPerSec),
      ratio(r.replay.ratio),
      "≥ 0.8",
      yes(r.replay.met),
    ],
    ["replay exact", String(r.replay.tally.exact), "", "", "true", yes(r.replay.tally.exact)],
    [
      "memory bytes/entry",
      r.memory.tally.bytesPerEntry.toFixed(1),
      r.memory.baseline.bytesPerEntry.toFixed(1),
      "",
      "≤ 150",
      yes(r.memory.met),
    ],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log();
  for (const row of rows)
    console.log(
      row
        .map((c, i) => c.padEnd(widths[i]! + 3))
        .join("")
        .trimEnd(),
    );
}

try {
  await main();
} catch (err) {
  process.exitCode = 1;
  console.error("bench failed:", err);
} finally {
  await cleanupAll();
}
