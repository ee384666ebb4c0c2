import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { TestingError, TestingErrorCode } from "./errors.js";

// Debian puts nats-server in /usr/sbin, which is often not on a non-root PATH.
const EXTRA_DIRS = ["/usr/sbin", "/usr/local/bin", "/usr/bin", "/sbin"];

const HOW_TO_INSTALL =
  "Install it (Debian/Ubuntu: `apt-get install -y nats-server`; elsewhere: " +
  "https://github.com/nats-io/nats-server/releases) or set NATS_SERVER_BIN to the path of a nats-server binary.";

/**
 * Locates the nats-server binary: `NATS_SERVER_BIN` if set (it must then be an executable
 * file), else `nats-server` on `PATH`, then in /usr/sbin, /usr/local/bin, /usr/bin, /sbin.
 *
 * @param env environment to read. @default process.env
 * @returns absolute path of the binary
 * @throws {@link TestingError} `NATS_SERVER_NOT_FOUND`, saying how to install or configure it
 */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env["NATS_SERVER_BIN"];
  if (explicit !== undefined && explicit !== "") {
    const path = resolve(explicit);
    if (isExecutableFile(path)) return path;
    throw new TestingError(
      TestingErrorCode.NatsServerNotFound,
      `NATS_SERVER_BIN is set to "${explicit}", but that is not an executable file. ` +
        `Point NATS_SERVER_BIN at a nats-server binary, or unset it to search PATH. ${HOW_TO_INSTALL}`,
    );
  }
  const pathDirs = (env["PATH"] ?? "").split(delimiter).filter((d) => d !== "");
  const dirs = [...new Set([...pathDirs, ...EXTRA_DIRS])];
  for (const dir of dirs) {
    const candidate = resolve(join(dir, "nats-server"));
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new TestingError(
    TestingErrorCode.NatsServerNotFound,
    `nats-server was not found on PATH nor in ${EXTRA_DIRS.join(", ")}. ${HOW_TO_INSTALL}`,
  );
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
