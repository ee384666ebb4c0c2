#!/usr/bin/env bash
# Makes a fresh clone runnable: nats-server and chromium (Debian packages) and pnpm, then the
# workspace dependencies. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ -z "${NATS_SERVER_BIN:-}" ] && ! command -v nats-server >/dev/null 2>&1 \
  && [ ! -x /usr/sbin/nats-server ] && [ ! -x /usr/local/bin/nats-server ]; then
  echo "bootstrap: installing nats-server (apt-get install -y nats-server)" >&2
  if ! as_root apt-get install -y nats-server >&2; then
    as_root apt-get update >&2
    as_root apt-get install -y nats-server >&2
  fi
fi

# Chromium for the dashboard's browser test (driven by playwright-core, from pnpm install).
if [ -z "${CHROMIUM_BIN:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "bootstrap: installing chromium (apt-get install -y chromium)" >&2
  as_root apt-get install -y chromium >&2 || { as_root apt-get update >&2 && as_root apt-get install -y chromium >&2; }
fi

if ! command -v pnpm >/dev/null 2>&1; then
  echo "bootstrap: installing pnpm (npm install -g pnpm@10)" >&2
  npm install -g pnpm@10 >&2
fi

# Install (or re-link) the workspace only when the lockfile changed since the last install.
stamp=node_modules/.tally-bootstrap
if [ ! -f "$stamp" ] || ! cmp -s pnpm-lock.yaml "$stamp"; then
  pnpm install --frozen-lockfile >&2
  cp pnpm-lock.yaml "$stamp"
fi
