/** A Tally node in a child process, through the real CLI (`tally node`). */
import { Child, type LogLine } from "./child.js";

/** Options of {@link spawnNode}. */
export interface SpawnNodeOptions {
  /** The child's name in errors and warning counts. @default "tally node" */
  name?: string;
  /** `--id` of the node; the CLI picks one when absent. */
  id?: string;
  /** More `tally node` options, placed before `--http 0`. @default [] */
  args?: string[];
  /** More environment variables (e.g. `TALLY_CLOCK_START`). @default {} */
  env?: NodeJS.ProcessEnv;
  /** Options of `node` itself, before `--import tsx` (e.g. `--cpu-prof`). @default [] */
  nodeArgs?: string[];
}

/** A node that has logged `node ready`. */
export interface NodeProcess {
  child: Child;
  /** Its `node ready` log line; `ready.at` is when that line arrived. */
  ready: LogLine;
  /** The port of its `/status` endpoint (`--http 0`, diagnostics only). */
  httpPort: number;
}

/**
 * Spawns `tally node --data <dataDir> --http 0` at info log level, and resolves once it logs
 * `node ready` (within 120 s).
 *
 * @example
 * const n1 = await spawnNode(server.url, dir.path, { name: "node n1", id: "n1" });
 */
export async function spawnNode(url: string, dataDir: string, opts: SpawnNodeOptions = {}): Promise<NodeProcess> {
  const child = new Child(
    opts.name ?? "tally node",
    [
      ...(opts.nodeArgs ?? []),
      "--import",
      "tsx",
      "packages/cli/src/bin.ts",
      "--nats",
      url,
      "node",
      "--data",
      dataDir,
      ...(opts.id === undefined ? [] : ["--id", opts.id]),
      ...(opts.args ?? []),
      "--http",
      "0",
    ],
    { TALLY_LOG_LEVEL: "info", ...opts.env },
  );
  const ready = await child.waitLog((l) => l.msg === "node ready", 120_000, "node ready");
  const httpPort = ready.j.httpPort;
  if (typeof httpPort !== "number") throw new Error(`node ready line has no httpPort: ${JSON.stringify(ready.j)}`);
  return { child, ready, httpPort };
}
