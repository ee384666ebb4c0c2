/**
 * Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01), after
 * Howard Hinnant's `days_from_civil` / `civil_from_days`. Allocation-free and exact for
 * any day number a JS `Date` can hold, negative ones included.
 * @internal
 * @packageDocumentation
 */

/** Milliseconds in a UTC day (no leap seconds, as in JS `Date`). */
export const MS_PER_DAY = 86_400_000;

/** Day number of `y`-`m`-`d` (month 1..12, day 1..31). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400; // [0, 399]
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1; // [0, 365]
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy; // [0, 146096]
  return era * 146097 + doe - 719468;
}

/**
 * Year and month (1..12) of day number `days`. Returns the pair packed as
 * `year * 16 + month` to avoid allocating an object.
 */
function civilYearMonth(days: number): number {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097; // [0, 146096]
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365); // [0, 399]
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)); // [0, 365]
  const mp = Math.floor((5 * doy + 2) / 153); // [0, 11], March-based
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return y * 16 + m;
}

/** Months since 1970-01 (0 = January 1970) of day number `days`. */
export function monthIndexOfDay(days: number): number {
  const ym = civilYearMonth(days);
  const y = Math.floor(ym / 16);
  const m = ym - y * 16;
  return (y - 1970) * 12 + (m - 1);
}

/** Years since 1970 of day number `days`. */
export function yearIndexOfDay(days: number): number {
  return Math.floor(civilYearMonth(days) / 16) - 1970;
}

/** Whether `y` is a Gregorian leap year. */
export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Number of days in month `m` (1..12) of year `y`. */
export function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeapYear(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}
