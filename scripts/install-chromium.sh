#!/usr/bin/env bash
# The playground's browser tests (test/playground/browser.test.ts) drive Debian's chromium with playwright-core;
# playwright's own browser download cannot work offline. Without chromium those tests are skipped, saying so.
set -euo pipefail
CHROMIUM="${LOCALKB_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then exit 0; fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } ||
    echo "apt-get could not install chromium; the playground browser tests will be skipped" >&2
else
  echo "chromium is missing and cannot be installed here (needs apt-get as root); the playground browser tests will be skipped" >&2
fi
