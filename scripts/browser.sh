#!/usr/bin/env bash
# Chromium for the web app's browser tests (driven by playwright-core): Debian's package, since
# `npx playwright install` cannot download browsers everywhere. Prints the executable's path.
set -euo pipefail
BROWSER="${MERCURIO_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$BROWSER" ]; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  echo "installing chromium (apt-get)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y chromium >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y chromium >&2; }
fi
echo "$BROWSER"
