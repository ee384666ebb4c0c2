import { NodeError } from "./errors.js";

/**
 * A simulated clock from `TALLY_CLOCK_START` (epoch ms or ISO-8601; default: now) and
 * `TALLY_CLOCK_RATE` (simulated ms per real ms; default 1), for benchmarks and tests
 * that run months of retention in minutes. Undefined when neither is set: the node then
 * uses the real clock. Never set them in production: buckets expire by this clock.
 */
export function clockFromEnv(env: NodeJS.ProcessEnv): (() => number) | undefined {
  const startText = env.TALLY_CLOCK_START;
  const rateText = env.TALLY_CLOCK_RATE;
  if (startText === undefined && rateText === undefined) return undefined;
  const start =
    startText === undefined ? Date.now() : /^-?[0-9]+$/.test(startText) ? Number(startText) : Date.parse(startText);
  const rate = rateText === undefined ? 1 : Number(rateText);
  if (!Number.isFinite(start))
    throw new NodeError("BAD_OPTION", `TALLY_CLOCK_START must be epoch ms or ISO-8601, got ${startText}`);
  if (!(rate > 0 && rate <= 1e7))
    throw new NodeError("BAD_OPTION", `TALLY_CLOCK_RATE must be above 0 and at most 1e7, got ${rateText}`);
  const realStart = Date.now();
  return () => start + Math.floor((Date.now() - realStart) * rate);
}
