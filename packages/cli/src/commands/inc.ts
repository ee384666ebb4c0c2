import { fstatSync } from "node:fs";
import type { Command } from "commander";
import { tallyClient, type IncResult } from "@tally/client";
import { withConnection, type FlagsOf } from "../connection.js";
import { CliError, CliErrorCode } from "../errors.js";
import { Exit, formatCount } from "../format.js";
import { MAX_LISTED_BAD_LINES, ingestLines, type IngestSummary } from "../ingest.js";
import { int, timeArg } from "../options.js";
import { progressDisplay } from "../progress.js";
import { printTable } from "../table.js";

interface IncFlags {
  ts?: number | string;
  msgId?: string;
  stdin?: boolean;
  progress: boolean;
  json?: boolean;
}

/** Bad lines the human summary lists (`--json` lists up to {@link MAX_LISTED_BAD_LINES}). */
const SHOWN_BAD_LINES = 20;

/**
 * `tally inc`: counts one event and prints its ack, or with `--stdin` counts every line
 * `ns name [delta] [ts]` of stdin through the client's batcher, with a progress bar on a
 * terminal and a summary. Bad lines are skipped and listed; then the exit code is 3.
 */
export function registerInc(program: Command, flags: FlagsOf): void {
  program
    .command("inc")
    .description(
      "count one event (publish to count.<ns>.<name>, wait for the ack), or with --stdin one per line of stdin",
    )
    .argument("[ns]", "namespace")
    .argument("[name]", "counter name (dots and other reserved characters are percent-encoded)")
    .argument("[delta]", "signed integer to add (default 1)", int("delta"))
    .option("--ts <time>", "event time: epoch ms or ISO-8601 (default: when stored)", timeArg)
    .option("--msg-id <id>", "Nats-Msg-Id, so a retry counts once")
    .option(
      "--stdin",
      "read events from stdin, one per line: `ns name [delta] [ts]` (blank and # lines ignored); bad lines are " +
        "skipped and listed in the summary (exit 3)",
    )
    .option("--no-progress", "with --stdin: no progress bar (drawn on stderr when it is a terminal)")
    .option("--json", "print the ack (or the --stdin summary) as JSON")
    .action(async (ns: string | undefined, name: string | undefined, delta: number | undefined, o: IncFlags) => {
      if (o.stdin) {
        if (ns !== undefined || o.ts !== undefined || o.msgId !== undefined)
          throw new CliError(
            CliErrorCode.BAD_OPTION,
            "--stdin reads ns, name, delta and ts from each line: give no arguments, --ts or --msg-id with it",
          );
        await incStdin(flags, o);
        return;
      }
      if (ns === undefined || name === undefined)
        throw new CliError(CliErrorCode.BAD_OPTION, "give a namespace and a name (`tally inc web home`), or --stdin");
      await withConnection(flags(), async (nc) => {
        const r = await tallyClient(nc).inc(ns, name, {
          delta: delta ?? 1,
          ...(o.ts !== undefined ? { ts: o.ts } : {}),
          ...(o.msgId ? { msgId: o.msgId } : {}),
        });
        if (o.json) console.log(JSON.stringify(r));
        else printAck(ns, name, delta ?? 1, r);
      });
    });
}

/** `counted web home +5 (stream sequence 42)` */
function printAck(ns: string, name: string, delta: number, r: IncResult): void {
  if (r.duplicate)
    console.log(
      `not counted again: an event with this --msg-id is already stored (stream sequence ${r.seq}, de-duplicated)`,
    );
  else console.log(`counted ${ns} ${name} ${delta < 0 ? "" : "+"}${formatCount(delta)} (stream sequence ${r.seq})`);
}

async function incStdin(flags: FlagsOf, o: IncFlags): Promise<void> {
  if (process.stdin.isTTY)
    process.stderr.write("reading events from stdin: `ns name [delta] [ts]` per line; Ctrl-D ends\n");
  const summary = await withConnection(
    flags(),
    (nc) =>
      ingestLines({
        batcher: tallyClient(nc).batcher(),
        input: process.stdin,
        ...stdinSize(),
        progress: progressDisplay(o.progress && process.stderr.isTTY === true, () => "events"),
      }),
    // A long run rides out a server restart: the batcher republishes with the same message ids.
    { reconnect: true },
  );
  if (o.json) console.log(JSON.stringify(summary));
  else printSummary(summary);
  if (summary.badLines > 0) process.exitCode = Exit.incomplete;
}

/** stdin's size when it is a file (`< events.txt`), for a percentage; nothing for a pipe. */
function stdinSize(): { totalBytes?: number } {
  try {
    const st = fstatSync(0);
    return st.isFile() ? { totalBytes: st.size } : {};
  } catch {
    return {};
  }
}

/**
 * The summary on stdout, the same for the same input (so it can be diffed), and the time
 * it took (and publishes retried, if any) on stderr:
 * ```
 * counted 10,000 events from 10,002 lines: 120 keys published, last stream sequence 4567
 * 1 bad line skipped (not counted):
 * LINE  CODE       REASON                        TEXT
 * 3     BAD_DELTA  delta "x" is not an integer   web home x
 * reads that must see them: --min-seq 4567
 * ```
 */
function printSummary(s: IngestSummary): void {
  const rate = s.seconds > 0 ? Math.round(s.events / s.seconds) : s.events;
  const retried = s.retries > 0 ? `; ${formatCount(s.retries)} publishes retried (same message ids, counted once)` : "";
  process.stderr.write(`took ${s.seconds.toFixed(1)} s (${formatCount(rate)} events/s)${retried}\n`);
  console.log(
    `counted ${formatCount(s.events)} event${s.events === 1 ? "" : "s"} from ${formatCount(s.lines)} ` +
      `line${s.lines === 1 ? "" : "s"}: ${formatCount(s.published)} key${s.published === 1 ? "" : "s"} published, ` +
      `last stream sequence ${s.lastSeq}`,
  );
  if (s.badLines > 0) {
    console.log(`${formatCount(s.badLines)} bad line${s.badLines === 1 ? "" : "s"} skipped (not counted):`);
    printTable(
      ["LINE", "CODE", "REASON", "TEXT"],
      s.bad.slice(0, SHOWN_BAD_LINES).map((b) => [String(b.line), b.code, b.message, b.text]),
    );
    if (s.badLines > SHOWN_BAD_LINES)
      console.log(
        `… and ${formatCount(s.badLines - SHOWN_BAD_LINES)} more (--json lists the first ${MAX_LISTED_BAD_LINES})`,
      );
  }
  if (s.events > 0) console.log(`reads that must see them: --min-seq ${s.lastSeq}`);
}
