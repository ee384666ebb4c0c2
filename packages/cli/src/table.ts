import Table, { type TableConstructorOptions } from "cli-table3";

/** How a column's cells line up. */
export type Align = "left" | "right";

/** Options of {@link formatTable}. */
export interface TableOptions {
  /** Alignment per column (numbers read best right-aligned). @default every column left */
  align?: Align[];
}

/**
 * No borders: columns two spaces apart, like `ps` or `kubectl get`, so the output stays
 * easy to read, grep and copy from (`cli-table3` draws boxes by default).
 */
const BORDERLESS: TableConstructorOptions = {
  chars: {
    top: "",
    "top-mid": "",
    "top-left": "",
    "top-right": "",
    bottom: "",
    "bottom-mid": "",
    "bottom-left": "",
    "bottom-right": "",
    left: "",
    "left-mid": "",
    mid: "",
    "mid-mid": "",
    right: "",
    "right-mid": "",
    middle: "  ",
  },
  // No colours: the same bytes on a terminal and in a pipe.
  style: { "padding-left": 0, "padding-right": 0, head: [], border: [] },
};

/**
 * Rows as aligned columns under a header, as text without a trailing newline (lines carry
 * no trailing spaces).
 *
 * @example
 * ```ts
 * formatTable(["NAME", "VALUE"], [["home", "12"]], { align: ["left", "right"] });
 * // 'NAME  VALUE\nhome     12'
 * ```
 */
export function formatTable(head: string[], rows: string[][], opts: TableOptions = {}): string {
  const table = new Table({ ...BORDERLESS, head, colAligns: opts.align ?? [] });
  table.push(...rows);
  return table
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n");
}

/** Prints {@link formatTable}'s table on stdout. */
export function printTable(head: string[], rows: string[][], opts: TableOptions = {}): void {
  console.log(formatTable(head, rows, opts));
}
