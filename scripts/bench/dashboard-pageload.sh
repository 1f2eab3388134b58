#!/usr/bin/env bash
# Dashboard page loads with 100,000 traces (issue 7, BENCHMARKS.md "Dashboard with 100,000 traces").
# Starts the built server (Release) on a fresh data directory, fills it with dashboard-100k.py, waits for the
# analytics projection, then times Overview, Traces list, a trace view and the Time Machine in headless
# Chromium (/usr/bin/chromium through playwright-core): median of 5 loads after a warm-up.
# usage: scripts/bench/dashboard-pageload.sh [TRACES] [LOADS]   (defaults 100000, 5)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TRACES="${1:-100000}"
LOADS="${2:-5}"
PORT="${PORT:-5079}"
KEY=ask_bench_bootstrap_key_0123456789
TOKEN=bench-sign-in-token-0123456789
BASE="http://127.0.0.1:$PORT"
SERVER="$ROOT/Queries/AgentStack.Server/bin/Release/net10.0/AgentStack.Server.dll"
[ -f "$SERVER" ] || { echo "build the server first: dotnet build Queries/AgentStack.Server -c Release" >&2; exit 1; }
"$ROOT/scripts/setup-chromium.sh"
(cd "$ROOT/scripts/bench/pageload" && npm ci --no-audit --no-fund --silent)

DATA="$(mktemp -d /tmp/agentstack-pageload.XXXXXX)"
ASPNETCORE_URLS="$BASE" AgentStack__DataDirectory="$DATA" AgentStack__BootstrapApiKey="$KEY" \
  AgentStack__Dashboard__SignInToken="$TOKEN" AgentStack__Otlp__GrpcPort=0 Logging__LogLevel__Default=Warning \
  dotnet "$SERVER" >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; rm -rf "$DATA"' EXIT
# Readiness is the condition (no fixed sleep): poll until the server answers or 60 s pass.
curl -sf --retry 120 --retry-delay 1 --retry-all-errors --retry-max-time 60 "$BASE/health/ready" >/dev/null

START=$(date +%s)
python3 "$ROOT/scripts/bench/dashboard-100k.py" "$BASE" "$KEY" "$TRACES"
curl -sf -H "Authorization: Bearer $KEY" "$BASE/api/projections/analytics/wait?timeoutSeconds=600" >/dev/null
echo "filled and projected in $(( $(date +%s) - START )) s" >&2
node "$ROOT/scripts/bench/pageload/measure.mjs" "$BASE" "$TOKEN" "$KEY" "$LOADS"
