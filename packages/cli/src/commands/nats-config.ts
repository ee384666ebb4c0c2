import type { Command } from "commander";
import { INIT_DEFAULTS, natsMappings } from "@tally/node";
import { int } from "../options.js";

/** `tally nats-config`: the server's `mappings { … }` block, on stdout and nothing else. */
export function registerNatsConfig(program: Command): void {
  program
    .command("nats-config")
    .description("print the nats-server `mappings { … }` block for events and reads (stdout only)")
    .option("--shards <P>", "number of shards", int("--shards"), INIT_DEFAULTS.shards)
    .action((o: { shards: number }) => {
      process.stdout.write(natsMappings(o.shards));
    });
}
