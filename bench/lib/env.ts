/** The environment of a run, recorded in its results. */
import { execFileSync } from "node:child_process";
import { cpus, loadavg, platform, release, totalmem } from "node:os";
import { findNatsServer } from "@tally/testing";
import { ROOT } from "./paths.js";

/** Machine, Node and nats-server of a run, and the load when it started. */
export function benchEnv() {
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    totalMemGiB: +(totalmem() / 2 ** 30).toFixed(1),
    loadavgAtStart: loadavg(),
    natsServer: execFileSync(findNatsServer(), ["--version"]).toString().trim(),
  };
}

/** The commit measured, and whether `packages/` had uncommitted edits. */
export function gitState(): { commit: string | undefined; packagesDirty: boolean } {
  return {
    commit: git(["rev-parse", "--short", "HEAD"]),
    packagesDirty: git(["status", "--porcelain", "packages"]) !== "",
  };
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync("git", args, { cwd: ROOT }).toString().trim();
  } catch {
    return undefined;
  }
}
