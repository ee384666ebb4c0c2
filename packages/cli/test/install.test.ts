import test from "ava";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const PACKAGE = fileURLToPath(new URL("..", import.meta.url));
const execFileAsync = promisify(execFile);
const run = (file: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  execFileAsync(file, args, { env, timeout: 120_000, killSignal: "SIGKILL" });

test("install - npm install -g of the package gives a `tally` bin that runs the TypeScript sources", async (t) => {
  const prefix = await mkdtemp(join(tmpdir(), "tally-install-"));
  t.teardown(() => rm(prefix, { recursive: true, force: true }));
  // A folder installs as a link to it: nothing is downloaded (--offline makes sure).
  await run("npm", ["install", "--global", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", PACKAGE]);
  const bin = join(prefix, "bin", "tally");
  // From another directory, with only the installed bin on the PATH for `tally`.
  const { stdout } = await execFileAsync(bin, ["--help"], { cwd: tmpdir(), timeout: 60_000, killSignal: "SIGKILL" });
  t.regex(stdout, /^Usage: tally \[options\] \[command\]/);
  for (const command of ["init", "node", "dev", "inc", "get", "top", "list", "status", "dlq", "verify"])
    t.regex(stdout, new RegExp(`^  ${command} `, "m"), command);
});

test("install - the bin shim runs with plain node (no tsx on the command line)", async (t) => {
  const { stdout } = await run(process.execPath, [join(PACKAGE, "bin", "tally.js"), "top", "--help"]);
  t.regex(stdout, /^Usage: tally top \[options\] <ns>/);
});
