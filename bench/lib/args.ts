/**
 * Command-line options of the benchmarks and their helper processes: `--name value` pairs
 * read from `process.argv`.
 */

/**
 * The positive integer after `--<name>`, or `fallback` when the option is absent.
 *
 * @param who - leads the error message (a helper script's name); without it the message also
 *   quotes the bad value.
 * @example
 * const N = intArg("events", 200_000); // --events 50000
 */
export function intArg(name: string, fallback: number, who?: string): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(
      who === undefined
        ? `--${name} must be a positive integer, got ${process.argv[i + 1]}`
        : `${who}: --${name} must be a positive integer`,
    );
  return v;
}

/**
 * The string after `--<name>`, or `fallback`; throws `<who>: --<name> is required` when the
 * option is absent and there is no fallback.
 *
 * @example
 * const url = stringArg("echo", "nats");
 */
export function stringArg(who: string, name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`${who}: --${name} is required`);
  return v;
}
