/** The printed table of a benchmark and the number formats of its lines. */

/** Prints rows as left-aligned columns, three spaces apart, after an empty line. */
export function printRows(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log();
  for (const row of rows)
    console.log(
      row
        .map((c, i) => c.padEnd(widths[i]! + 3))
        .join("")
        .trimEnd(),
    );
}

/** A target met or not. */
export const yes = (b: boolean): string => (b ? "yes" : "NO");

/** A rounded integer with thousands separators; `null` (never measured) prints as `never`. */
export const int = (v: number | null): string => (v === null ? "never" : Math.round(v).toLocaleString("en-US"));

/** `v` with `d` decimals; `?` when it is missing or NaN. */
export const fmt = (v: number | undefined, d = 0): string => (v === undefined || Number.isNaN(v) ? "?" : v.toFixed(d));

/** Warnings counted by message, as `3× "msg", 1× "other"`. */
export const warningList = (w: Record<string, number>): string =>
  Object.entries(w)
    .map(([m, c]) => `${c}× "${m}"`)
    .join(", ");
