#!/usr/bin/env node
// `pnpm build`: compiles every workspace package to plain JavaScript in its dist/ (tsc -b,
// incremental: a second run with nothing changed takes about a second), then copies the
// files under src/ that are not TypeScript (HTML, CSS, JSON read at run time) next to the
// compiled modules, so `node packages/cli/dist/bin.js` runs without tsx.
/* global process, console, URL */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const built = spawnSync(process.execPath, [tsc, "-b", join(root, "tsconfig.build.json")], { stdio: "inherit" });
if (built.status !== 0) {
  console.error(`build: tsc -b failed (exit ${built.status ?? built.signal})`);
  process.exit(1);
}

const packages = join(root, "packages");
for (const name of readdirSync(packages)) {
  const src = join(packages, name, "src");
  const dist = join(packages, name, "dist");
  cpSync(src, dist, {
    recursive: true,
    filter: (path) => !path.endsWith(".ts") || path === src,
  });
}
chmodSync(join(packages, "cli", "dist", "bin.js"), 0o755);
