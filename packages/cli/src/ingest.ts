import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { EventError, TallyError } from "@tally/core";
import type { Batcher } from "@tally/client";
import { BAD_TEXT_CHARS, parseEventLine, type BadLine } from "./event-lines.js";
import type { ProgressDisplay } from "./progress.js";

/** Bad lines a summary lists one by one; past this they are only counted. */
export const MAX_LISTED_BAD_LINES = 1000;

/** Lines between two progress updates. */
const PROGRESS_EVERY = 4096;

/** Options of {@link ingestLines}. */
export interface IngestOptions {
  /** Where the events go; closed (every event acked) before the summary. */
  batcher: Batcher;
  /** Lines of `ns name [delta] [ts]`. */
  input: Readable;
  /** The input's size in bytes, when known (a file): the progress bar shows a percentage. */
  totalBytes?: number;
  progress: ProgressDisplay;
}

/** What {@link ingestLines} did. */
export interface IngestSummary {
  /** Lines read, blank and comment lines included. */
  lines: number;
  /** Events counted: lines added to the batcher, every one of them acked. */
  events: number;
  /** Publishes of pre-aggregated keys (each acked). */
  published: number;
  /** Publishes that were retries (same message id, so never counted twice). */
  retries: number;
  /** Highest stream sequence acked: `--min-seq` for reads that must see these events. */
  lastSeq: number;
  seconds: number;
  /** Lines skipped as bad (never counted). */
  badLines: number;
  /** The first {@link MAX_LISTED_BAD_LINES} of them. */
  bad: BadLine[];
}

/**
 * Counts every good line of `input` through the batcher and skips bad ones, reporting each
 * (with its line number): a bad line never stops the others and is never dropped silently.
 * Resolves once every event is acked. A failure of the batcher (connection lost past its
 * retries) stops it: it rejects with that error's code, its message saying how far it got.
 */
export async function ingestLines(opts: IngestOptions): Promise<IngestSummary> {
  const { batcher, input, totalBytes, progress } = opts;
  const started = performance.now();
  const bad: BadLine[] = [];
  let badLines = 0;
  let lines = 0;
  let position = 0;
  const show = () =>
    progress.update({
      phase: "inc",
      done: batcher.stats.events,
      position,
      total: totalBytes,
      ...(badLines > 0 ? { note: `${badLines} bad line${badLines === 1 ? "" : "s"}` } : {}),
    });
  const reject = (line: number, text: string, code: string, message: string) => {
    badLines++;
    if (bad.length < MAX_LISTED_BAD_LINES) bad.push({ line, code, message, text: text.slice(0, BAD_TEXT_CHARS) });
  };
  const rl = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const text of rl) {
      lines++;
      position += text.length + 1;
      if (lines % PROGRESS_EVERY === 0) show();
      const parsed = parseEventLine(text);
      if (parsed.kind === "skip") continue;
      if (parsed.kind === "bad") {
        reject(lines, text, parsed.code, parsed.message);
        continue;
      }
      const e = parsed.event;
      try {
        await batcher.add(e.ns, e.name, e.delta, e.ts);
      } catch (err) {
        // A bad ns or name is the line's fault; anything else is the batcher's and stops the run.
        if (!(err instanceof EventError)) throw err;
        reject(lines, text, err.code, err.message);
      }
    }
    show();
    const { seq } = await batcher.close();
    progress.stop();
    const s = batcher.stats;
    return {
      lines,
      events: s.events,
      published: s.published,
      retries: s.retries,
      lastSeq: seq,
      seconds: (performance.now() - started) / 1000,
      badLines,
      bad,
    };
  } catch (err) {
    progress.stop();
    const code = err instanceof TallyError ? err.code : "ERROR";
    const message = err instanceof Error ? err.message : String(err);
    throw new TallyError(
      code,
      `${message} (stopped at line ${lines} of the input; highest stream sequence acked ${batcher.lastSeq})`,
      { cause: err },
    );
  }
}
