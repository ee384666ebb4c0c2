/**
 * The `tally verify` recount rate against a raw ordered consumer over the same event log,
 * same run: bench/verify-rate.ts's `measureVerifyRate` on the months phase's log (events
 * with `ts` bodies, the node stopped so the two readers compete only with each other).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../lib/paths.js";
import { log } from "../lib/time.js";
import { TARGETS, VERIFY_ROUNDS } from "./options.js";

/** What bench/verify-rate.ts's `measureVerifyRate` returns (the fields used here). */
interface VerifyRate {
  events: number;
  rawPerSec: number;
  recountPerSec: number;
  ratio: number;
  rounds: { raw: number[]; recount: number[] };
}

type Measure = (o: { url: string; rounds?: number }) => Promise<VerifyRate>;

/** Measures the rate, or says why it could not (bench/verify-rate.ts absent in this build). */
export async function verifyPhase(url: string) {
  const file = join(ROOT, "bench", "verify-rate.ts");
  if (!existsSync(file))
    return { met: null, notMeasured: "not measured: bench/verify-rate.ts (tally verify) is not in this build" };
  // Loaded by path at run time, so this bench builds and runs on a tree without it.
  const mod = (await import(pathToFileURL(file).href)) as { measureVerifyRate?: Measure };
  if (typeof mod.measureVerifyRate !== "function")
    return { met: null, notMeasured: "not measured: bench/verify-rate.ts has no measureVerifyRate" };
  log(`verify: recount rate vs a raw ordered consumer, ${VERIFY_ROUNDS} round(s) each`);
  const r = await mod.measureVerifyRate({ url, rounds: VERIFY_ROUNDS });
  return {
    ...r,
    target: `recount events/s ≥ ${TARGETS.verifyRatio} × the raw ordered consumer's (medians)`,
    met: r.ratio >= TARGETS.verifyRatio,
  };
}
