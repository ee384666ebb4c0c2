import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { ExecutionContext } from "ava";
import { chromium, type Browser } from "playwright-core";
import { ROOT } from "./cluster.js";
import { within } from "./deadline.js";

/** Where tests keep what CI should keep (screenshots): git-ignored. */
export const ARTIFACTS_DIR = join(ROOT, "test", "artifacts");

/**
 * The Chromium the tests drive: `CHROMIUM_BIN`, or Debian's `chromium` package, which
 * `scripts/bootstrap.sh` installs when missing.
 */
export const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

/** Launches headless Chromium through playwright-core; closed in teardown. */
export async function launchChromium(t: ExecutionContext): Promise<Browser> {
  if (!existsSync(CHROMIUM_BIN))
    throw new Error(
      `no Chromium at ${CHROMIUM_BIN}: run scripts/bootstrap.sh (apt-get install chromium) or set CHROMIUM_BIN`,
    );
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  const browser = await within(
    chromium.launch({ executablePath: CHROMIUM_BIN, args: ["--no-sandbox"], timeout: 60_000 }),
    90_000,
    "Chromium to start",
  );
  t.teardown(() => within(browser.close(), 30_000, "Chromium to close"));
  return browser;
}

/** The path of artifact `name`, its folder created. */
export async function artifactPath(name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}
