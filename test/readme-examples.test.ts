import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import test from "ava";
import { ROOT, inProcessNode, tallyServer } from "./helpers/cluster.js";
import { consoleSteps, readmeExamples } from "./helpers/readme-blocks.js";

const run = promisify(execFile);
const CLI = `${JSON.stringify(process.execPath)} --import tsx packages/cli/src/bin.ts`;

/** Trailing spaces and the final newline are not part of what a reader compares. */
const tidy = (s: string) =>
  s
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n")
    .trim();

const examples = readmeExamples();

test.serial("README - the client examples run against a real node and print what the README shows", async (t) => {
  const client = examples.filter((e) => e.kind === "client");
  t.true(client.length > 0, "the README has a client example");
  const { server } = await tallyServer(t);
  await inProcessNode(t, server.url);
  // Inside the repository, so `@tally/client` resolves as it does for a user of the workspace.
  const dir = join(ROOT, "test", ".examples");
  await mkdir(dir, { recursive: true });
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const ex of client) {
    const file = join(dir, `client-${ex.line}.ts`);
    await writeFile(file, ex.code);
    const { stdout } = await run(process.execPath, ["--import", "tsx", file], {
      cwd: ROOT,
      env: { ...process.env, TALLY_NATS_URL: server.url },
      timeout: 60_000,
      killSignal: "SIGKILL",
    });
    t.truthy(ex.prints, `README line ${ex.line}: a client example shows what it prints`);
    t.is(tidy(stdout), tidy(ex.prints ?? ""), `README line ${ex.line}`);
  }
});

test.serial(
  "README - every CLI example runs in order on a fresh cluster and prints what the README shows",
  async (t) => {
    const cli = examples.filter((e) => e.kind === "cli");
    t.true(cli.length > 0, "the README has CLI examples");
    const { server } = await tallyServer(t);
    await inProcessNode(t, server.url);
    let steps = 0;
    for (const ex of cli) {
      for (const step of consoleSteps(ex.code)) {
        t.regex(step.command, /pnpm -s tally /, `README line ${ex.line}: examples run the CLI as pnpm -s tally`);
        const command = step.command.replaceAll("pnpm -s tally", CLI);
        const { stdout } = await run("bash", ["-o", "pipefail", "-c", command], {
          cwd: ROOT,
          env: { ...process.env, TALLY_NATS_URL: server.url, NO_COLOR: "1" },
          timeout: 60_000,
          killSignal: "SIGKILL",
        }).catch((err: unknown) => {
          throw new Error(`README line ${ex.line}: \`${step.command}\` failed: ${String(err)}`);
        });
        t.is(tidy(stdout), tidy(step.output), `README line ${ex.line}: \`${step.command}\``);
        steps++;
      }
    }
    t.true(steps > 0);
  },
);
