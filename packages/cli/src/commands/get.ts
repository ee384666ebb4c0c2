import type { Command } from "commander";
import type { Period } from "@tally/core";
import { tallyClient } from "@tally/client";
import { withConnection, type FlagsOf } from "../connection.js";
import { int, timeArg } from "../options.js";

interface GetFlags {
  period: Period;
  at?: number | string;
  from?: number | string;
  to?: number | string;
  minSeq?: number;
}

/** `tally get`: reads a value or, with `--from`/`--to`, a series; prints the reply as JSON. */
export function registerGet(program: Command, flags: FlagsOf): void {
  program
    .command("get")
    .description("read a counter: all-time, one bucket, or a series")
    .argument("<ns>", "namespace")
    .argument("<name>", "counter name")
    .option("--period <period>", "all, minute, hour, day, week, month or year", "all")
    .option("--at <time>", "a time inside the bucket (epoch ms or ISO-8601; default now)", timeArg)
    .option("--from <time>", "series start (with --to)", timeArg)
    .option("--to <time>", "series end (with --from)", timeArg)
    .option("--min-seq <seq>", "wait until the reply reflects every event up to this stream sequence", int("--min-seq"))
    .action(async (ns: string, name: string, o: GetFlags) => {
      await withConnection(flags(), async (nc) => {
        const client = tallyClient(nc);
        const minSeq = o.minSeq !== undefined ? { minSeq: o.minSeq } : {};
        const reply =
          o.from !== undefined || o.to !== undefined
            ? await client.series(ns, name, {
                period: o.period as Exclude<Period, "all">,
                from: o.from ?? "",
                to: o.to ?? "",
                ...minSeq,
              })
            : await client.get(ns, name, { period: o.period, ...(o.at !== undefined ? { at: o.at } : {}), ...minSeq });
        console.log(JSON.stringify(reply));
      });
    });
}
