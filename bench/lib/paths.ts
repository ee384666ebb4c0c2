import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** Repository root: the working directory of every child process the benchmarks spawn. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Where the benchmarks write their JSON results (`bench/results`). */
export const RESULTS_DIR = join(ROOT, "bench", "results");
