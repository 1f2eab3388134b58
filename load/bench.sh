#!/usr/bin/env bash
# The ingestion benchmark harness on the embedded default: starts AgentStack.Server (Release) on a fresh
# data directory, drives it with wrk and a Lua script that builds unique requests (load/spans.lua for
# POST /v1/spans, load/otlp-protobuf.lua for POST /v1/traces), and reports durable spans/s, request
# latency, the server's CPU and peak RSS, and how long after the load the last span is queryable.
#   load/bench.sh <script.lua> [seconds=30] [connections=32]
# (load/bench-ingest.sh and load/bench-otlp.sh call it with their script.)
# A warm-up run (WARMUP seconds, default 15) comes first and is not counted: .NET's tiered JIT is still
# recompiling hot paths in the first seconds. Durable spans/s counts only the events appended during the
# measured run (from the log position before and after it).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SCRIPT="${1:?usage: load/bench.sh <script.lua> [seconds] [connections]}"
DURATION="${2:-30}"
CONNECTIONS="${3:-32}"
PORT="${PORT:-5099}"
KEY="bench-$(date +%s)"

command -v wrk >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update -qq; DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk >/dev/null; }
[ "${SKIP_SETUP:-}" = 1 ] || scripts/setup.sh

DATA="$(mktemp -d /tmp/agentstack-bench.XXXXXX)"
env ${SERVER_ENV:-} ASPNETCORE_URLS="http://127.0.0.1:$PORT" AgentStack__DataDirectory="$DATA" AgentStack__BootstrapApiKey="$KEY" \
  Logging__LogLevel__Default=Warning AgentStack__Otlp__GrpcPort=0 \
  dotnet Queries/AgentStack.Server/bin/Release/net10.0/AgentStack.Server.dll >"$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
until curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null; do
  kill -0 $SERVER 2>/dev/null || { cat "$DATA/server.log"; exit 1; }
  sleep 0.2
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
log_position() {
  curl -fs -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/api/projections" | sed -E 's/.*"logPosition":([0-9]+).*/\1/'
}
WARMUP="${WARMUP:-15}"
if [ "$WARMUP" -gt 0 ]; then
  echo "warm-up: ${WARMUP}s (not counted)"
  AGENTSTACK_KEY="$KEY" wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$SCRIPT" "http://127.0.0.1:$PORT" >/dev/null
fi
events0=$(log_position)
hz=$(getconf CLK_TCK)
cpu0=$(cpu_ticks)
t0=$(date +%s.%N)
AGENTSTACK_KEY="$KEY" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$SCRIPT" "http://127.0.0.1:$PORT" | tee "$DATA/wrk.txt"
t1=$(date +%s.%N)
cpu1=$(cpu_ticks)

events=$(( $(log_position) - events0 ))
w0=$(date +%s.%N)
curl -fs -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/api/projections/analytics/wait?timeoutSeconds=300" >/dev/null
w1=$(date +%s.%N)
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")

elapsed=$(echo "$t1 - $t0" | bc -l)
echo
echo "durable spans: $events in ${elapsed}s => $(echo "$events / $elapsed" | bc) spans/s"
grep -E "latency_p50_ms|non2xx" "$DATA/wrk.txt"
echo "server CPU: $(echo "($cpu1 - $cpu0) / $hz / $elapsed * 100" | bc -l | xargs printf '%.0f')% of one core (2 cores = 200%)"
echo "server peak RSS: $((rss_kb / 1024)) MiB"
echo "last span queryable in traces: $(echo "$w1 - $w0" | bc -l | xargs printf '%.2f')s after the load ended"
