/** The JSON results of a run. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { RESULTS_DIR } from "./paths.js";

/** The path of `bench/results/<name>.json`. */
export const resultsPath = (name: string): string => join(RESULTS_DIR, `${name}.json`);

/** Writes `results` as indented JSON to {@link resultsPath}; resolves with that path. */
export async function writeResults(name: string, results: unknown): Promise<string> {
  const path = resultsPath(name);
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path, JSON.stringify(results, null, 2) + "\n");
  return path;
}
