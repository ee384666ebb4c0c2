import { InvalidArgumentError, type Command } from "commander";
import { acceptLogGaps } from "@tally/node";
import { withConnection, type FlagsOf } from "../connection.js";
import { int } from "../options.js";

/** `tally accept-gap`: clears the log gap mark of shards whose counts the operator accepts as they are. */
export function registerAcceptGap(program: Command, flags: FlagsOf): void {
  program
    .command("accept-gap")
    .description(
      "accept the counts of shards marked with a log gap as they are: their replies stop carrying the mark " +
        "(see tally status); the counts are not changed",
    )
    .option(
      "--shard <n>",
      "a marked shard to accept (repeatable)",
      (v: string, prev: number[]) => [...prev, int("--shard")(v)],
      [] as number[],
    )
    .option("--all", "accept every marked shard")
    .option("--json", "print what was accepted as JSON")
    .action(async (o: { shard: number[]; all?: boolean; json?: boolean }) => {
      if (o.all === o.shard.length > 0) {
        throw new InvalidArgumentError("give --shard N (one or more) or --all");
      }
      await withConnection(flags(), async (nc) => {
        const r = await acceptLogGaps(nc, o.all ? "all" : o.shard);
        if (o.json) {
          console.log(JSON.stringify(r, null, 2));
          return;
        }
        for (const g of r.accepted) {
          console.log(
            `accepted shard ${g.shard}: events with sequence ${g.restoredSeq + 1}-${g.logFirstSeq - 1} may be missing ` +
              `from its counts, which stay as they are`,
          );
        }
        for (const s of r.notMarked) console.log(`shard ${s} is not marked`);
        if (r.accepted.length === 0 && r.notMarked.length === 0) console.log("no shard is marked");
      });
    });
}
