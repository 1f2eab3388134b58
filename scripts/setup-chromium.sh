#!/usr/bin/env bash
# Installs Chromium from Debian when missing: only the dashboard's browser tests need it (issue 7).
# Playwright drives /usr/bin/chromium through ExecutablePath; a Playwright browser download is never
# run (it cannot reach its CDN here, docs/environment.md). Idempotent.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-chromium: /usr/bin/chromium is missing; as root run: apt-get install -y chromium" >&2
  exit 1
fi
echo "setup-chromium: installing chromium (apt)" >&2
if [ ! -f /tmp/.agentstack-apt-updated ]; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq && touch /tmp/.agentstack-apt-updated
fi
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null
