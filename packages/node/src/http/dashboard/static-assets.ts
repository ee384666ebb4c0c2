import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { send, type RouteHandler } from "../http-endpoint.js";

/** Content types of the files the dashboard serves. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Folder of the page's own files: plain HTML, ES modules and CSS, served as they are. */
const ASSETS_DIR = fileURLToPath(new URL("./assets/", import.meta.url));

/**
 * uPlot's ES module and stylesheet, from the `uplot` package as npm installed it
 * (served under `/assets/vendor/`): no bundler, no copy step.
 */
function vendorFiles(): Record<string, string> {
  const uplot = dirname(createRequire(import.meta.url).resolve("uplot/package.json"));
  return {
    "vendor/uPlot.esm.js": join(uplot, "dist", "uPlot.esm.js"),
    "vendor/uPlot.min.css": join(uplot, "dist", "uPlot.min.css"),
  };
}

/**
 * The dashboard's static files: a fixed table built once from the assets folder and
 * the vendor files, so a request can name only a file in the table (no path from the
 * URL ever reaches the file system). Files are read on first request and kept.
 */
export class StaticAssets {
  readonly #paths = new Map<string, string>();
  readonly #cache = new Map<string, Buffer>();

  constructor() {
    for (const f of readdirSync(ASSETS_DIR)) if (CONTENT_TYPES[extname(f)]) this.#paths.set(f, join(ASSETS_DIR, f));
    for (const [name, path] of Object.entries(vendorFiles())) this.#paths.set(name, path);
  }

  /** Names served under `/assets/`. */
  names(): string[] {
    return [...this.#paths.keys()].sort();
  }

  /** Serves `/assets/<name>` (`prefix` is the route's path up to the name). */
  route(prefix: string): RouteHandler {
    return (_req, res, url) => this.serve(res, url.pathname.slice(prefix.length));
  }

  /** Answers one file by its name in the table, or 404. */
  async serve(res: Parameters<RouteHandler>[1], name: string): Promise<void> {
    const path = this.#paths.get(name);
    if (path === undefined) return send(res, 404, "text/plain", `no such dashboard file: ${name}\n`);
    let body = this.#cache.get(name);
    if (body === undefined) {
      body = await readFile(path);
      this.#cache.set(name, body);
    }
    send(res, 200, CONTENT_TYPES[extname(path)]!, body);
  }
}
