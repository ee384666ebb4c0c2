/**
 * The helper processes of bench/ingest.ts: the raw consumer, the echo responder, the latency
 * probe and the memory measurement, each a `node --import tsx bench/<script>.ts` child.
 */
import { Child } from "../lib/child.js";
import { latencyStats, type LatencyStats } from "../lib/stats.js";
import { hrNow } from "../lib/time.js";

/** Starts bench/raw-consumer.ts on `stream` for `count` messages; resolves once it is `ready`. */
export async function startRawConsumer(
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
  return { child, readyAt: hrNow() };
}

/** Waits for the raw consumer's `done` line: when it came ({@link hrNow}) and what it reports. */
export async function rawConsumerDone(
  child: Child,
  timeoutMs: number,
): Promise<{ at: bigint; count: number; consumeMs: number; cpuMs: number }> {
  const line = await child.waitLine((l) => l.startsWith("done "), timeoutMs, "done");
  const at = hrNow();
  return { at, ...(JSON.parse(line.slice(5)) as { count: number; consumeMs: number; cpuMs: number }) };
}

/** Starts bench/echo.ts, the baseline responder on `echo.>`; resolves once it is `ready`. */
export async function startEcho(url: string): Promise<Child> {
  const echo = new Child("echo", ["--import", "tsx", "bench/echo.ts", "--nats", url]);
  await echo.waitLine((l) => l === "ready", 60_000, "ready");
  return echo;
}

/** Latency figures of one kind of request sent by bench/latency-probe.ts, and how many failed. */
export type ProbeStats = LatencyStats & { errors: number };

/**
 * Starts bench/latency-probe.ts on `<prefix><i % keys>`, one request every `everyMs` (50);
 * `stop()` ends it and returns its latency figures. With `pair` (a subject prefix such as
 * `echo.k`), every tick also sends one request there, and `stop()` returns its figures as `pair`.
 */
export async function startLatencyProbe(
  url: string,
  prefix: string,
  keys: number,
  opts: { pair?: string; everyMs?: number } = {},
): Promise<{ stop(): Promise<ProbeStats & { pair?: ProbeStats }> }> {
  const child = new Child("latency probe", [
    "--import",
    "tsx",
    "bench/latency-probe.ts",
    "--nats",
    url,
    "--prefix",
    prefix,
    "--keys",
    String(keys),
    "--every",
    String(opts.everyMs ?? 50),
    ...(opts.pair === undefined ? [] : ["--pair", opts.pair]),
  ]);
  await child.waitLine((l) => l === "ready", 60_000, "ready");
  return {
    async stop() {
      const line = child.waitLine((l) => l.startsWith("stats "), 30_000, "stats");
      child.proc.kill("SIGTERM");
      type Out = { ms: number[]; errors: number; pairMs?: number[]; pairErrors?: number };
      const r = JSON.parse((await line).slice(6)) as Out;
      await child.exited;
      const main = { ...latencyStats(r.ms), errors: r.errors };
      if (r.pairMs === undefined) return main;
      return { ...main, pair: { ...latencyStats(r.pairMs), errors: r.pairErrors ?? 0 } };
    },
  };
}

/** What bench/memory.ts prints (the fields the bench reads; the JSON holds all of it). */
export interface MemoryFigures {
  entries: number;
  counters: number;
  events: number;
  applyEventsPerSec: number;
  tally: { bytesPerEntry: number; bytes: number };
  tallyWithDirty: { bytesPerEntry: number };
  baseline: { bytesPerEntry: number };
  nestedMaps: { bytesPerEntry: number };
}

/** Runs bench/memory.ts with `--expose-gc` and returns its JSON. */
export async function measureMemory(): Promise<MemoryFigures> {
  const child = new Child("memory", ["--expose-gc", "--import", "tsx", "bench/memory.ts"]);
  const line = await child.waitLine((l) => l.startsWith("{"), 150_000, "memory JSON");
  await child.exited;
  return JSON.parse(line) as MemoryFigures;
}
