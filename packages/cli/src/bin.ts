#!/usr/bin/env node
import { Command } from "commander";
import { addConnectionOptions, type ConnectionFlags } from "./connection.js";
import { printError } from "./errors.js";
import { Exit } from "./format.js";
import { registerAcceptGap } from "./commands/accept-gap.js";
import { registerDev } from "./commands/dev.js";
import { registerDlq } from "./commands/dlq.js";
import { registerGet } from "./commands/get.js";
import { registerInc } from "./commands/inc.js";
import { registerInit } from "./commands/init.js";
import { registerList } from "./commands/list.js";
import { registerNatsConfig } from "./commands/nats-config.js";
import { registerNode } from "./commands/node.js";
import { registerStatus } from "./commands/status.js";
import { registerTop } from "./commands/top.js";
import { registerVerify } from "./commands/verify.js";

const program = addConnectionOptions(
  new Command("tally")
    .description("Exact, real-time, time-bucketed event counters on NATS JetStream")
    .showHelpAfterError(),
);
const flags = (): ConnectionFlags => program.opts<ConnectionFlags>();
// Whether the command being run was given --json: its errors are then JSON too.
let json = false;
program.hook("preAction", (_program, command) => {
  json = command.opts<{ json?: boolean }>().json === true;
});

// In this order in `tally --help`.
registerNatsConfig(program);
registerInit(program, flags);
registerNode(program, flags);
registerDev(program);
registerInc(program, flags);
registerGet(program, flags);
registerTop(program, flags);
registerList(program, flags);
registerStatus(program, flags);
registerDlq(program, flags);
registerVerify(program, flags);
registerAcceptGap(program, flags);

try {
  await program.parseAsync();
} catch (err) {
  printError(err, { natsUrl: flags().nats, json });
  process.exitCode = Exit.error;
}
