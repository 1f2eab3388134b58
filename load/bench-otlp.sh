#!/usr/bin/env bash
# OTLP ingestion benchmark on the embedded default (issue 5), the same harness as load/bench-ingest.sh: starts AgentStack.Server (Release) on a fresh
# data directory, drives POST /v1/traces (protobuf) with wrk (load/otlp-protobuf.lua: 100 unique spans a request),
# and reports durable spans/s, request latency, the server's CPU and peak RSS, and how long after the
# load the last span is queryable in the traces table.
#   load/bench-otlp.sh [seconds=30] [connections=32]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
DURATION="${1:-30}"
CONNECTIONS="${2:-32}"
PORT="${PORT:-5098}"
KEY="bench-$(date +%s)"

command -v wrk >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update -qq; DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk >/dev/null; }
[ "${SKIP_SETUP:-}" = 1 ] || scripts/setup.sh

DATA="$(mktemp -d /tmp/agentstack-bench.XXXXXX)"
ASPNETCORE_URLS="http://127.0.0.1:$PORT" AgentStack__DataDirectory="$DATA" AgentStack__BootstrapApiKey="$KEY" \
  Logging__LogLevel__Default=Warning AgentStack__Otlp__GrpcPort=0 \
  dotnet Queries/AgentStack.Server/bin/Release/net10.0/AgentStack.Server.dll >"$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
until curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null; do
  kill -0 $SERVER 2>/dev/null || { cat "$DATA/server.log"; exit 1; }
  sleep 0.2
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
hz=$(getconf CLK_TCK)
cpu0=$(cpu_ticks)
t0=$(date +%s.%N)
AGENTSTACK_KEY="$KEY" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s load/otlp-protobuf.lua "http://127.0.0.1:$PORT" | tee "$DATA/wrk.txt"
t1=$(date +%s.%N)
cpu1=$(cpu_ticks)

status=$(curl -fs -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/api/projections")
events=$(sed -E 's/.*"logPosition":([0-9]+).*/\1/' <<<"$status")
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
