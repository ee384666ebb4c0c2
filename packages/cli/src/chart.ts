import sparkly from "sparkly";

/** A sparkline of a series, and how many buckets each of its marks sums. */
export interface Sparkline {
  /** One mark (`▁`…`█`) per group of buckets, oldest first. */
  line: string;
  /** Buckets summed into each mark (1 when the series fits `width`). */
  bucketsPerMark: number;
  /** The highest mark's value (the top of the scale). */
  max: number;
}

/**
 * A one-line chart of `values` (`▁▂▄█▅`) at most `width` marks wide: a longer series is
 * cut into consecutive groups whose sums are drawn, so every event still shows. The scale
 * starts at 0 (or at the lowest value if negative), so a flat series of 5s is not drawn
 * as a floor of `▁`.
 */
export function sparkline(values: readonly number[], width: number): Sparkline {
  const per = Math.max(1, Math.ceil(values.length / Math.max(1, width)));
  const marks: number[] = [];
  for (let i = 0; i < values.length; i += per) {
    let sum = 0;
    for (let j = i; j < Math.min(i + per, values.length); j++) sum += values[j]!;
    marks.push(sum);
  }
  if (marks.length === 0) return { line: "", bucketsPerMark: per, max: 0 };
  // No `style`: plain marks, no colour escape codes in pipes.
  const line = sparkly(marks, { minimum: Math.min(0, ...marks) });
  return { line, bucketsPerMark: per, max: Math.max(...marks) };
}
