import test from "ava";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { formatDuration, formatRetention } from "@tally/core";
import { INIT_DEFAULTS, LOG_MAX_BYTES_FLOOR, NODE_DEFAULTS, formatSize } from "@tally/node";

const BIN = fileURLToPath(new URL("../src/bin.ts", import.meta.url));
const execFileAsync = promisify(execFile);

/** This process's environment without TALLY_* variables, which would replace the defaults. */
function withoutTallyEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TALLY_")));
}

/** `tally <args> --help`, unwrapped onto one line so a default split by the wrapping still matches. */
async function help(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, ["--import", "tsx", BIN, ...args, "--help"], {
    env: withoutTallyEnv(),
  });
  return stdout.replace(/\s+/g, " ");
}

test("help - the global --nats default is the nodes' default URL", async (t) => {
  t.true((await help()).includes(`(default: "${NODE_DEFAULTS.natsUrl}"`));
});

test("help - node shows every default from NODE_DEFAULTS", async (t) => {
  const out = await help("node");
  for (const [flag, value] of [
    ["--snapshot-interval", NODE_DEFAULTS.snapshotIntervalMs],
    ["--snapshot-events", NODE_DEFAULTS.snapshotEvents],
    ["--read-wait", NODE_DEFAULTS.readWaitMs],
    ["--max-waiting-reads", NODE_DEFAULTS.maxWaitingReads],
    ["--max-series-points", NODE_DEFAULTS.maxSeriesPoints],
    ["--heartbeat", NODE_DEFAULTS.heartbeatMs],
    ["--member-timeout", NODE_DEFAULTS.memberTimeoutMs],
    ["--min-members", NODE_DEFAULTS.minMembers],
    ["--max-moving", NODE_DEFAULTS.maxMovingFraction],
    ["--checkpoint-interval", NODE_DEFAULTS.checkpointIntervalMs],
    ["--stop-timeout", NODE_DEFAULTS.stopTimeoutMs],
  ] as const) {
    t.regex(out, new RegExp(`${flag} <[a-z]+> (?:(?! --).)*\\(default: ${value}\\)`), flag);
  }
  t.true(out.includes(`default: "${NODE_DEFAULTS.logLevel}"`));
});

test("help - init, nats-config, dev and status show defaults from INIT_DEFAULTS and NODE_DEFAULTS", async (t) => {
  const init = await help("init");
  t.true(init.includes(`(default ${INIT_DEFAULTS.shards}, or the existing value)`));
  t.true(init.includes(`(default ${INIT_DEFAULTS.replicas}, or the existing value)`));
  t.true(init.includes(`(default ${INIT_DEFAULTS.periods.join(",")})`));
  t.true(init.includes(`(default ${INIT_DEFAULTS.dedupWindowMs}, or the existing value)`));
  t.true(init.includes(`(default ${formatRetention(INIT_DEFAULTS.retention)}, the rest forever)`));
  t.true(init.includes(`(default ${INIT_DEFAULTS.checkpointIntervalMs}, or the existing value)`));
  t.true(init.includes(`(default ${formatDuration(INIT_DEFAULTS.dlqMaxAgeMs)}, or the existing value)`));
  t.true(init.includes(`at least ${formatSize(LOG_MAX_BYTES_FLOOR)}`));
  t.true(init.includes(`(default ${INIT_DEFAULTS.leaseTtlMs}, or the existing value)`));
  t.true((await help("nats-config")).includes(`(default: ${INIT_DEFAULTS.shards})`));
  const dev = await help("dev");
  t.true(dev.includes(`(default: ${INIT_DEFAULTS.shards})`));
  t.true(dev.includes(`(default ${INIT_DEFAULTS.periods.join(",")})`));
  t.true(dev.includes(`(default: ${new URL(NODE_DEFAULTS.natsUrl).port})`));
  t.true((await help("status")).includes(`(default: ${NODE_DEFAULTS.memberTimeoutMs})`));
});
