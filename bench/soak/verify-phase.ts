/**
 * The `tally verify` recount rate against a raw ordered consumer over the same event log,
 * same run: bench/verify-rate.ts's `measureVerifyRate` on the months phase's log (events
 * with `ts` bodies, the node stopped so the two readers compete only with each other).
 */
import { log } from "../lib/time.js";
import { measureVerifyRate } from "../verify-rate.js";
import { TARGETS, VERIFY_ROUNDS } from "./options.js";

/** Measures the rate, `VERIFY_ROUNDS` rounds of each reader, and compares the medians. */
export async function verifyPhase(url: string) {
  log(`verify: recount rate vs a raw ordered consumer, ${VERIFY_ROUNDS} round(s) each`);
  const r = await measureVerifyRate({ url, rounds: VERIFY_ROUNDS });
  return {
    ...r,
    target: `recount events/s ≥ ${TARGETS.verifyRatio} × the raw ordered consumer's (medians)`,
    met: r.ratio >= TARGETS.verifyRatio,
  };
}
