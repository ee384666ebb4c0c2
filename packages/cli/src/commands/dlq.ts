import type { Command } from "commander";
import { listDeadLetters } from "@tally/node";
import { withConnection, type FlagsOf } from "../connection.js";
import { int } from "../options.js";
import { printTable } from "../table.js";

/**
 * Defaults of `tally dlq`. `@tally/node` exports none for `listDeadLetters` (it falls back
 * to the same numbers), so they live here, once.
 */
const DLQ_DEFAULTS = { limit: 100, fromSeq: 1 } as const;

/** `tally dlq`: lists dead-lettered events with their codes and reasons. */
export function registerDlq(program: Command, flags: FlagsOf): void {
  program
    .command("dlq")
    .description(
      "list dead-lettered events (invalid events that were stored but not counted) and the node that recorded each",
    )
    .option("--limit <n>", "at most this many", int("--limit"), DLQ_DEFAULTS.limit)
    .option("--from-seq <seq>", "start at this dead-letter sequence", int("--from-seq"), DLQ_DEFAULTS.fromSeq)
    .option("--json", "one JSON object per line")
    .action(async (o: { limit: number; fromSeq: number; json?: boolean }) => {
      await withConnection(flags(), async (nc) => {
        const list = await listDeadLetters(nc, { limit: o.limit, fromSeq: o.fromSeq });
        const dec = new TextDecoder();
        if (o.json) {
          for (const d of list) console.log(JSON.stringify({ ...d, body: dec.decode(d.body) }));
          return;
        }
        if (list.length === 0) {
          console.log("no dead letters");
          return;
        }
        const rows = list.map((d) => [
          String(d.dlqSeq),
          String(d.seq),
          d.time,
          d.subject,
          d.code,
          JSON.stringify(dec.decode(d.body).slice(0, 40)),
          d.node || "-",
          d.reason,
        ]);
        printTable(["DLQ", "SEQ", "STORED", "SUBJECT", "CODE", "BODY", "NODE", "REASON"], rows);
      });
    });
}
