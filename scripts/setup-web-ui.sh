#!/usr/bin/env bash
# Builds the Angular dashboard into web-ui/dist/browser, which the query host serves (issue 7).
# Idempotent: npm install only when package.json or the lock changed (or node_modules is missing), and
# ng build only when a source is newer than the last build (or dist is missing). `npm install`, not
# `npm ci`: the lock file lacks other platforms' optional binaries (docs/environment.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/web-ui"

stamp=node_modules/.agentstack-installed
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; }; then
  echo "setup-web-ui: npm install" >&2
  npm install --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
fi

index=dist/browser/index.html
if [ ! -f "$index" ] || [ -n "$(find src public angular.json tsconfig.json tsconfig.app.json package.json -newer "$index" -print -quit 2>/dev/null)" ]; then
  echo "setup-web-ui: ng build" >&2
  npx --no-install ng build >&2
  touch "$index"
fi
