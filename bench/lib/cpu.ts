/**
 * CPU use of processes and of the whole machine, from `/proc` (Linux). Elsewhere every figure
 * is `undefined`.
 */
import { readFileSync } from "node:fs";
import { hrNow } from "./time.js";

/** User+system CPU seconds of a process, from /proc (Linux); undefined elsewhere or once gone. */
export function procCpuSec(pid: number | undefined): number | undefined {
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

/** Busy and total jiffies of the whole machine since boot. */
export interface MachineCpu {
  busy: number;
  total: number;
}

/** Busy and total jiffies of the whole machine; see {@link busyBetween}. */
export function machineCpu(): MachineCpu | undefined {
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

/** Busy share of the whole machine between two {@link machineCpu} readings (1.0 = every core busy). */
export function busyBetween(a: MachineCpu | undefined, b: MachineCpu | undefined): number | undefined {
  return a && b ? (b.busy - a.busy) / (b.total - a.total) : undefined;
}

/** CPU counters of some processes, this one and the machine at one instant. */
export interface CpuMark {
  at: bigint;
  procs: Record<string, number | undefined>;
  self: NodeJS.CpuUsage;
  machine: MachineCpu | undefined;
}

/** Reads the CPU counters of the named processes (by pid), of this process and of the machine. */
export function cpuMark(pids: Record<string, number | undefined>): CpuMark {
  const procs: Record<string, number | undefined> = {};
  for (const [k, pid] of Object.entries(pids)) procs[k] = procCpuSec(pid);
  return { at: hrNow(), procs, self: process.cpuUsage(), machine: machineCpu() };
}

/** CPU used between two {@link cpuMark}s; this process is listed as `bench`. */
export interface CpuDelta {
  wallSec: number;
  processes: Record<string, { cpuSec: number; cores: number } | undefined>;
  machineBusy: number | undefined;
}

/** CPU used between two marks: seconds per process and utilisation (1.0 = one core busy). */
export function cpuDelta(a: CpuMark, b: CpuMark): CpuDelta {
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
  return { wallSec, processes: out, machineBusy: busyBetween(a.machine, b.machine) };
}
