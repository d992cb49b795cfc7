#!/usr/bin/env bash
# Chromium for the web app's browser tests (driven by playwright-core): Debian's package, since
# `npx playwright install` cannot download browsers everywhere. Prints the executable's path.
# Also a colour emoji font: without one, reactions render as empty boxes in the screenshots.
set -euo pipefail
BROWSER="${MERCURIO_CHROMIUM:-/usr/bin/chromium}"
EMOJI_FONT=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
install() {
  echo "installing $* (apt-get)…" >&2
  $SUDO apt-get install -y "$@" >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y "$@" >&2; }
}
if [ ! -x "$BROWSER" ]; then install chromium; fi
# Best effort: the tests pass without it, only the screenshots lose their emoji.
if [ ! -f "$EMOJI_FONT" ]; then install fonts-noto-color-emoji || echo "no colour emoji font" >&2; fi
echo "$BROWSER"
