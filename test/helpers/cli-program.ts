import { Command, type Option } from "commander";
import { addConnectionOptions, type ConnectionFlags } from "../../packages/cli/src/connection.js";
import { registerInit } from "../../packages/cli/src/commands/init.js";
import { registerNode } from "../../packages/cli/src/commands/node.js";

/** What a command line of the `tally` CLI parsed to, without running it. */
export interface ParsedCommand {
  command: string;
  /** The command's options, defaults filled in, values converted as the CLI does. */
  opts: Record<string, unknown>;
  /** The connection options (global). */
  connection: ConnectionFlags;
}

/**
 * Parses `args` (as after `tally`) with the CLI's own `node` and `init` commands and
 * connection options, their actions replaced so nothing runs. Throws what the CLI would
 * refuse: an unknown option, a bad value, a missing required option, another command.
 */
export function parseTallyArgs(args: readonly string[], env: NodeJS.ProcessEnv = {}): ParsedCommand {
  const saved = process.env;
  process.env = { ...env }; // options read TALLY_* variables: only the ones given count
  try {
    const program = tallyProgram();
    let parsed: ParsedCommand | undefined;
    for (const command of program.commands) {
      command.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
      command.action((opts: Record<string, unknown>) => {
        parsed = { command: command.name(), opts, connection: program.opts<ConnectionFlags>() };
      });
    }
    program.parse([...args], { from: "user" });
    if (!parsed) throw new Error(`no command in ${args.join(" ")}`);
    return parsed;
  } finally {
    process.env = saved;
  }
}

/** Every environment variable some option of the CLI's `node` or `init` reads. */
export function tallyEnvVars(): Set<string> {
  const program = tallyProgram();
  const options: Option[] = [...program.options, ...program.commands.flatMap((c) => c.options)];
  return new Set(options.flatMap((o) => (o.envVar ? [o.envVar] : [])));
}

function tallyProgram(): Command {
  const program = addConnectionOptions(new Command("tally"))
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  const flags = () => program.opts<ConnectionFlags>();
  registerInit(program, flags);
  registerNode(program, flags);
  return program;
}
