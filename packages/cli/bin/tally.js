#!/usr/bin/env node
// The installed `tally` command: runs the TypeScript sources through tsx, with no build step.
// The repository's tsconfig.json maps the workspace packages to their sources (their
// package.json `exports` name the build in dist/), so tsx is given it whatever the cwd.
/* global URL */
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register({ tsconfig: fileURLToPath(new URL("../../../tsconfig.json", import.meta.url)) });
await import("../src/bin.ts");
