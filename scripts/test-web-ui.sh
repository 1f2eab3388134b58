#!/usr/bin/env bash
# Runs the dashboard's unit tests (Vitest through `ng test`, jsdom) and prints `N passed, N failed`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup-web-ui.sh"
cd "$ROOT/web-ui"
set +e
out="$(npx --no-install ng test --watch=false --no-progress 2>&1)"
code=$?
set -e
printf '%s\n' "$out"
plain="$(printf '%s\n' "$out" | sed -E 's/\x1b\[[0-9;]*m//g')"
line="$(grep -E '^\s*Tests\s' <<<"$plain" | tail -n 1)"
passed="$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
failed="$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
echo "web-ui: $passed passed, $failed failed"
[ "$code" = 0 ] && [ -n "$line" ]
