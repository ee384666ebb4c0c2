#!/usr/bin/env node
import { Command } from "commander";
import { TallyError } from "@tally/core";
import { addConnectionOptions, type ConnectionFlags } from "./connection.js";
import { registerAcceptGap } from "./commands/accept-gap.js";
import { registerDev } from "./commands/dev.js";
import { registerDlq } from "./commands/dlq.js";
import { registerGet } from "./commands/get.js";
import { registerInc } from "./commands/inc.js";
import { registerInit } from "./commands/init.js";
import { registerNatsConfig } from "./commands/nats-config.js";
import { registerNode } from "./commands/node.js";
import { registerStatus } from "./commands/status.js";
import { registerVerify } from "./commands/verify.js";

const program = addConnectionOptions(
  new Command("tally")
    .description("Exact, real-time, time-bucketed event counters on NATS JetStream")
    .showHelpAfterError(),
);
const flags = (): ConnectionFlags => program.opts<ConnectionFlags>();

// In this order in `tally --help`.
registerNatsConfig(program);
registerInit(program, flags);
registerNode(program, flags);
registerDev(program);
registerInc(program, flags);
registerGet(program, flags);
registerStatus(program, flags);
registerDlq(program, flags);
registerVerify(program, flags);
registerAcceptGap(program, flags);

try {
  await program.parseAsync();
} catch (err) {
  const code = err instanceof TallyError ? `${err.code}: ` : "";
  process.stderr.write(`tally: ${code}${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
