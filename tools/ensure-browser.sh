#!/usr/bin/env bash
# Browser tests drive Debian's chromium through Playwright (no browser downloads).
# As root, install it (and Japanese fonts for readable screenshots) when missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian chromium and fonts-noto-cjk for the browser tests..."
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
else
  echo "No /usr/bin/chromium: browser tests will be skipped (install Debian's chromium)." >&2
  exit 1
fi
