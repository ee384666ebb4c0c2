import cliProgress from "cli-progress";

/** One phase's progress, as a long-running command reports it. */
export interface PhaseProgress {
  /** Name shown at the start of the line; a new name starts a new bar. */
  phase: string;
  /** Items handled so far (events, reads), shown with their rate. */
  done: number;
  /** Progress in the unit of `total`. */
  position: number;
  /** Where `position` ends; undefined when unknown (input from a pipe): no bar then, only counts and rate. */
  total: number | undefined;
  /** Shown at the end of the line, e.g. `2 bad lines`. */
  note?: string;
}

/** A progress display on stderr: one bar per phase. */
export interface ProgressDisplay {
  update(p: PhaseProgress): void;
  /** Ends the current bar (idempotent). */
  stop(): void;
}

const NO_DISPLAY: ProgressDisplay = { update: () => undefined, stop: () => undefined };

/**
 * A stderr progress bar per phase, with the items handled and their rate, e.g.
 * `recount  ████████░░░░ 66% | 1320448 events | 412377/s | ETA 2s` (with no known
 * total: `inc      1320448 events | 412377/s`). On a terminal it
 * redraws in place (10 times a second at most); elsewhere (a log file, CI) it prints a
 * line every 2 s. `unit` names the items per phase (`events`, `reads`).
 */
export function progressDisplay(enabled: boolean, unit: (phase: string) => string): ProgressDisplay {
  if (!enabled) return NO_DISPLAY;
  let bar: cliProgress.SingleBar | undefined;
  let phase: string | undefined;
  let started = 0;
  const stop = () => {
    bar?.stop();
    bar = undefined;
    phase = undefined;
  };
  return {
    update(p) {
      if (p.phase !== phase) {
        stop();
        phase = p.phase;
        started = performance.now();
        const counts = `{done} ${unit(p.phase)} | {rate}/s`;
        bar = new cliProgress.SingleBar(
          {
            format:
              p.total === undefined
                ? `${p.phase.padEnd(8)} ${counts}{note}`
                : `${p.phase.padEnd(8)} {bar} {percentage}% | ${counts} | ETA {eta_formatted}{note}`,
            stream: process.stderr,
            barsize: 30,
            noTTYOutput: true,
            notTTYSchedule: 2000,
            // The cursor stays as it is, so Ctrl-C needs no clean-up and keeps its default
            // (a SIGINT handler, which cli-progress's gracefulExit adds, would stop the exit).
            hideCursor: null,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(p.total ?? 1, 1), 0, { done: 0, rate: 0, note: "" });
      }
      const seconds = (performance.now() - started) / 1000;
      bar!.update(Math.min(p.position, p.total ?? 0), {
        done: p.done,
        rate: seconds > 0 ? Math.round(p.done / seconds) : 0,
        note: p.note ? ` | ${p.note}` : "",
      });
    },
    stop,
  };
}
