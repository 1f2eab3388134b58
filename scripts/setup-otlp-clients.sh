#!/usr/bin/env bash
# Installs the real JavaScript OpenTelemetry clients that tests/AgentStack.Otlp.Tests drives (issue 16): the Vercel
# AI SDK, the openai package with OpenLLMetry's and OpenInference's instrumentations, and the OTLP exporters, at the
# versions tests/otlp-clients/package.json pins (the newest that run on Node 20). Idempotent: npm install only when
# package.json or the lock changed, or node_modules is missing. `npm install`, not `npm ci` (the lock lacks other
# platforms' optional binaries).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/tests/otlp-clients"

stamp=node_modules/.agentstack-installed
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; }; then
  echo "setup-otlp-clients: npm install" >&2
  npm install --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
fi
