import type { Command } from "commander";
import { tallyClient } from "@tally/client";
import { withConnection, type FlagsOf } from "../connection.js";
import { int, timeArg } from "../options.js";

/** `tally inc`: counts one event and prints the JetStream ack as JSON. */
export function registerInc(program: Command, flags: FlagsOf): void {
  program
    .command("inc")
    .description("count one event: publish to count.<ns>.<name> and wait for the JetStream ack")
    .argument("<ns>", "namespace")
    .argument("<name>", "counter name (dots and other reserved characters are percent-encoded)")
    .argument("[delta]", "signed integer to add", int("delta"), 1)
    .option("--ts <time>", "event time: epoch ms or ISO-8601 (default: when stored)", timeArg)
    .option("--msg-id <id>", "Nats-Msg-Id, so a retry counts once")
    .action(async (ns: string, name: string, delta: number, o: { ts?: number | string; msgId?: string }) => {
      await withConnection(flags(), async (nc) => {
        const r = await tallyClient(nc).inc(ns, name, {
          delta,
          ...(o.ts !== undefined ? { ts: o.ts } : {}),
          ...(o.msgId ? { msgId: o.msgId } : {}),
        });
        console.log(JSON.stringify(r));
      });
    });
}
