/** One day in ms. */
export const DAY = 86_400_000;

/**
 * Midnight UTC of a Monday two to three weeks before now: event times for tests.
 * Recent, so every bucket is inside the default retention (hour buckets: 90 days)
 * whenever the suite runs; a Monday, so a few days later crosses a week boundary.
 */
export const RECENT_MONDAY = (() => {
  const today = Math.floor(Date.now() / DAY);
  // Day 0 (1970-01-01) was a Thursday: (day + 3) % 7 is 0 on Mondays.
  const monday = today - ((today + 3) % 7);
  return (monday - 14) * DAY;
})();
