/** Prints rows as aligned columns, two spaces apart; the last column is not padded. */
export function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (i === head.length - 1 ? 0 : (r[i] ?? "").length))),
  );
  for (const r of [head, ...rows])
    console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
}
