#!/usr/bin/env bash
# The ingestion benchmark harness: starts AgentStack (Release) on a fresh data directory, drives it with
# wrk and a Lua script that builds unique requests (load/spans.lua for POST /v1/spans,
# load/otlp-protobuf.lua for POST /v1/traces), and reports durable spans/s, request latency, the CPU and
# peak RSS of AgentStack's processes, and how long after the load the last span is queryable.
#   load/bench.sh <script.lua> [seconds=30] [connections=32]
# (load/bench-ingest.sh and load/bench-otlp.sh call it with their script.)
# SHAPE (load/spans.lua only): 10x10 (default: 10 traces × 10 spans a request), 1x100, 100x1, or long (each of
# 4 clients grows one trace to 1,000 spans in batches of 5, load/long-trace.py, latency per batch by position).
# RAW=1 (default): after AgentStack, the same load against load/raw-append (each body appended to a SQLite WAL,
# group commit, fsync, nothing else) in the same run, and AgentStack's durable spans/s as a ratio to it (issue 13).
# RATE=<requests/s>: an open-loop load at that fixed rate instead of wrk's closed loop (load/fixed-rate: latency
# counted from each request's due time, and how long until a just-answered trace is queryable), for the latency at
# a given share of the peak wrk measured; no raw-limit run then. It starts once every projection but the detectors has
# caught up with the warm-up (the detectors run on a CPU budget and catch up at their own pace).
# PAUSE_PROJECTIONS=1 (a diagnostic): every projection caught up with the warm-up and then paused for the measured run
# (POST /api/projections/<name>/pause), resumed after it; the all-in-one server's ingestion without its projections'
# work, to set beside TOPOLOGY=commands. The time until queryable then includes the whole run's catch-up.
# PAUSE_PROJECTIONS=<name>,<name>: the same for those projections only (names as GET /api/projections lists them, a
# versioned one by the part before its @: analytics, detections, anomalies, alerts, findings, security-findings).
# DETECTIONS_WAIT=0: do not wait for the detectors to catch up after the load (they run on a CPU budget and can take
# minutes); for throughput A/B runs, where only the durable spans/s matter.
# ALLOC=1: the runtime's allocation samples of the first process for 10 s of the measured run (dotnet-trace, installed
# if missing), summed by type and by AgentStack caller, and each collection with what it promoted and how long it held
# the threads (load/alloc-report).
# THREADS=1: the CPU of AgentStack's processes by thread name, from 3 s into the measured run to 3 s before its end
# (/proc/<pid>/task/*/stat read twice; a thread that exits in between takes its time with it, so the sums run low).
# PROFILE=1: perf samples AgentStack's processes during the measured run (DOTNET_PerfMapEnabled=1 names the JIT'd
# frames) and the top frames by self time are printed.
# SERVER_ROOT: where the hosts' builds are (default: this checkout), to measure another commit with this harness.
# TOPOLOGY=embedded (default): the all-in-one server on SQLite, chDB and the in-memory bus.
# TOPOLOGY=distributed: the thin hosts as separate processes — a commands host (collector and handlers),
# a projection worker, a queries host — on PostgreSQL (Marten), RabbitMQ and a ClickHouse HTTP endpoint
# (the chDB stand-in here, tests/AgentStack.ChDbHttpServer), all on this machine (scripts/services.sh).
# TOPOLOGY=commands: the commands host alone on the embedded log (SQLite, in-process dispatch) with no projection, no
# query API and no dashboard: what the write path costs by itself, next to the raw limit. A diagnostic, not a way to
# run AgentStack (nothing reads its log); durable spans are the 2xx answers times the spans a request, as a 2xx means
# the request's events are durable. wrk shapes only (not long, not RATE).
# A warm-up run (WARMUP seconds, default 15) comes first and is not counted: .NET's tiered JIT is still
# recompiling hot paths in the first seconds. Durable spans/s counts only the events appended during the
# measured run (from the log position before and after it).
set -euo pipefail
[ -n "${TRACE:-}" ] && set -x
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SCRIPT="${1:?usage: load/bench.sh <script.lua> [seconds] [connections]}"
DURATION="${2:-30}"
CONNECTIONS="${3:-32}"
PORT="${PORT:-5099}"
KEY="bench-$(date +%s)"
SHAPE="${SHAPE:-10x10}"
SERVER_ROOT="${SERVER_ROOT:-$ROOT}"
case "$SHAPE" in
  long) SPANS_PER_REQUEST=5 ;;
  *x*) export TRACES="${SHAPE%x*}" SPANS="${SHAPE#*x}"; SPANS_PER_REQUEST=$((TRACES * SPANS)) ;;
  *) echo "SHAPE must be TRACESxSPANS (10x10, 1x100, 100x1) or long" >&2; exit 2 ;;
esac
# drive <port> <seconds> [--latency]: the shape's load; wrk's summary (or long-trace.py's) on stdout.
drive() {
  if [ "$SHAPE" = long ]; then
    python3 "$ROOT/load/long-trace.py" "http://127.0.0.1:$1" "$KEY" 4 1000 5
  elif [ -n "${RATE:-}" ]; then
    dotnet "$FIXED_RATE_DLL" "http://127.0.0.1:$1" "$KEY" "$RATE" "$2" "$TRACES" "$SPANS"
  else
    AGENTSTACK_KEY="$KEY" wrk -t2 -c"$CONNECTIONS" -d"${2}s" --timeout 30s ${3:-} -s "$SCRIPT" "http://127.0.0.1:$1"
  fi
}

command -v wrk >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update -qq; DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk >/dev/null; }
[ "${SKIP_SETUP:-}" = 1 ] || scripts/setup.sh

FIXED_RATE_DLL="$ROOT/load/fixed-rate/bin/Release/net10.0/FixedRate.dll"
if [ -n "${RATE:-}" ] && [ ! -f "$FIXED_RATE_DLL" ]; then
  dotnet build "$ROOT/load/fixed-rate" -c Release -v q -clp:ErrorsOnly >/dev/null
fi

DATA="$(mktemp -d /tmp/agentstack-bench.XXXXXX)"
PIDS=()
SCHEMA=
# The distributed topology's run writes its log into a PostgreSQL schema of its own (SCHEMA below): dropped at the end,
# as each run left a gigabyte or more behind (43 GB after a day of runs).
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${SCHEMA:-}" ]; then
    psql -h 127.0.0.1 -p "${AGENTSTACK_PG_PORT:-55432}" -U postgres -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 \
      || echo "could not drop the run's schema $SCHEMA" >&2
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT

# start <name> <port> <dll> [VAR=value ...]: one host in the background, waiting until it is ready.
start() {
  local name="$1" port="$2" dll="$3"; shift 3
  # A host left over from an earlier run would answer the readiness probe and be measured instead.
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use: stop what listens there (ss -ltnp 'sport = :$port') or set PORT" >&2; exit 1
  fi
  env ${SERVER_ENV:-} ${PROFILE:+DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0} "$@" ASPNETCORE_URLS="http://127.0.0.1:$port" AgentStack__DataDirectory="$DATA/$name" \
    AgentStack__BootstrapApiKey="$KEY" Logging__LogLevel__Default=Warning AgentStack__Otlp__GrpcPort=0 \
    dotnet "$dll" >"$DATA/$name.log" 2>&1 &
  PIDS+=($!)
  until curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null; do
    kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$DATA/$name.log"; exit 1; }
    sleep 0.2
  done
}
bin() { echo "$SERVER_ROOT/$1/bin/Release/net10.0/$(basename "$1").dll"; }

case "${TOPOLOGY:-embedded}" in
  embedded)
    start server "$PORT" "$(bin Queries/AgentStack.Server)"
    QUERY_PORT=$PORT
    ;;
  distributed)
    eval "$(scripts/services.sh start)"
    SCHEMA="bench_$(date +%s)"
    CH_PORT=$((PORT + 3))
    mkdir -p "$DATA/clickhouse"
    AgentStack__ChDb__DataPath="$DATA/clickhouse" Logging__LogLevel__Default=Warning \
      dotnet "$(bin tests/AgentStack.ChDbHttpServer)" --urls "http://127.0.0.1:$CH_PORT" >"$DATA/clickhouse.log" 2>&1 &
    PIDS+=($!)
    until curl -fs "http://127.0.0.1:$CH_PORT/ping" >/dev/null; do sleep 0.2; done
    shared=(AgentStack__EventStore__Provider=Marten AgentStack__EventStore__Schema="$SCHEMA" AgentStack__Access__Provider=Marten
      AgentStack__Bus__Transport=RabbitMq AgentStack__Bus__QueuePrefix="$SCHEMA"
      AgentStack__Analytics__Provider=ClickHouse ConnectionStrings__ClickHouse="Host=127.0.0.1;Port=$CH_PORT;Username=default;Password=")
    start commands "$PORT" "$(bin Commands/AgentStack.Commands.Host)" "${shared[@]}"
    start projections $((PORT + 1)) "$(bin Projections/AgentStack.Projections.Host)" "${shared[@]}"
    start queries $((PORT + 2)) "$(bin Queries/AgentStack.Queries.Host)" "${shared[@]}"
    QUERY_PORT=$((PORT + 2))
    ;;
  commands)
    { [ "$SHAPE" != long ] && [ -z "${RATE:-}" ] && [ "${PAUSE_PROJECTIONS:-0}" = 0 ]; } \
      || { echo "TOPOLOGY=commands takes the wrk shapes only, and has no projection to pause" >&2; exit 2; }
    start commands "$PORT" "$(bin Commands/AgentStack.Commands.Host)"
    QUERY_PORT=
    ;;
  *) echo "TOPOLOGY must be embedded, distributed or commands" >&2; exit 2 ;;
esac

# CPU and peak RSS of AgentStack's own processes (in the distributed topology: not PostgreSQL or RabbitMQ).
cpu_ticks() { local t=0 p; for p in "${PIDS[@]}"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
peak_rss_kb() { local t=0 p; for p in "${PIDS[@]}"; do t=$((t + $(awk '/VmHWM/ {print $2}' "/proc/$p/status"))); done; echo $t; }
log_position() {
  [ -n "$QUERY_PORT" ] || { echo 0; return; }
  curl -fs -H "Authorization: Bearer $KEY" "http://127.0.0.1:$QUERY_PORT/api/projections" | sed -E 's/.*"logPosition":([0-9]+).*/\1/'
}
WARMUP="${WARMUP:-15}"
if [ "$WARMUP" -gt 0 ]; then
  echo "warm-up: ${WARMUP}s (not counted)"
  AGENTSTACK_KEY="$KEY" TRACES=10 SPANS=10 wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$ROOT/load/spans.lua" "http://127.0.0.1:$PORT" >/dev/null
fi
# Requests the warm-up left in flight finish first, so they are not counted as the measured run's.
settle() { local a b; [ -n "$QUERY_PORT" ] || { sleep 2; return; }; a=$(log_position); while sleep 1; b=$(log_position); [ "$a" != "$b" ]; do a=$b; done; }
settle
# A fixed rate (and a run with the projections paused) measures a steady state: the projections first catch up with
# the warm-up's peak, whose backlog would otherwise take the cores and the disk from the measured run (those behind the
# page cache's tail read the log from the disk). The detectors are not waited for: on their CPU budget they catch up at
# their own pace, under load or not.
projection_names() {
  curl -fsS -H "Authorization: Bearer $KEY" "http://127.0.0.1:$QUERY_PORT/api/projections" | grep -oE '"name":"[^"]+"' | cut -d'"' -f4
}
PAUSE_PROJECTIONS="${PAUSE_PROJECTIONS:-0}"
# paused_names: the projections PAUSE_PROJECTIONS names, as GET /api/projections lists them (parts left out).
paused_names() {
  local name
  for name in $(projection_names | grep -v /); do
    if [ "$PAUSE_PROJECTIONS" = 1 ] || [[ ",$PAUSE_PROJECTIONS," == *",${name%%@*},"* ]]; then echo "$name"; fi
  done
}
# set_paused <pause|resume>: the projections PAUSE_PROJECTIONS named, through the operators' endpoint.
set_paused() {
  local name
  for name in $PAUSED; do
    curl -fsS -X POST -H "Authorization: Bearer $KEY" "http://127.0.0.1:$QUERY_PORT/api/projections/$name/$1" >/dev/null
  done
}
if [ -n "${RATE:-}" ] || [ "$PAUSE_PROJECTIONS" != 0 ]; then
  for name in $(projection_names | grep -v '^detections@'); do
    curl -fsS -H "Authorization: Bearer $KEY" "http://127.0.0.1:$QUERY_PORT/api/projections/$name/wait?timeoutSeconds=300" >/dev/null
  done
fi
if [ "$PAUSE_PROJECTIONS" != 0 ]; then
  PAUSED=$(paused_names)
  [ -n "$PAUSED" ] || { echo "PAUSE_PROJECTIONS=$PAUSE_PROJECTIONS names no projection of: $(projection_names | tr '\n' ' ')" >&2; exit 2; }
  echo "paused for the measured run: $(echo $PAUSED)"
  set_paused pause
fi
events0=$(log_position)
hz=$(getconf CLK_TCK)
cpu0=$(cpu_ticks)
t0=$(date +%s.%N)
if [ "${ALLOC:-}" = 1 ]; then
  # 10 s of the runtime's allocation samples from the first process (the embedded server, or the commands host)
  command -v dotnet-trace >/dev/null || export PATH="$PATH:$HOME/.dotnet/tools"
  command -v dotnet-trace >/dev/null || dotnet tool install -g dotnet-trace --version 10.0.750501 >/dev/null
  (sleep 5; dotnet-trace collect -p "${PIDS[0]}" --profile gc-verbose --duration 00:00:00:10 -o "$DATA/alloc.nettrace" >"$DATA/alloc.log" 2>&1) &
  ALLOC_PID=$!
fi
if [ "${PROFILE:-}" = 1 ]; then
  perf record -F 499 -g -o "$DATA/perf.data" -p "$(IFS=,; echo "${PIDS[*]}")" -- sleep "$DURATION" >"$DATA/perf.log" 2>&1 &
  PERF_PID=$!
fi
if [ "${THREADS:-}" = 1 ]; then
  [ "$DURATION" -gt 6 ] || { echo "THREADS=1 needs a measured run of more than 6 s" >&2; exit 2; }
  # thread_ticks: "<name>\t<user+system ticks>" summed by thread name over AgentStack's processes, sorted by name.
  thread_ticks() {
    local p
    for p in "${PIDS[@]}"; do cat /proc/"$p"/task/*/stat 2>/dev/null; done | awk '{
      s = index($0, "("); e = match($0, /\) [A-Z] /); name = substr($0, s + 1, e - s - 1); gsub(/ /, "_", name)
      split(substr($0, e + 2), f, " "); ticks[name] += f[12] + f[13] } END { for (n in ticks) print n "\t" ticks[n] }' | LC_ALL=C sort
  }
  (sleep 3; thread_ticks >"$DATA/threads0"; date +%s.%N >"$DATA/threads_t0"; sleep $((DURATION - 6))
   thread_ticks >"$DATA/threads1"; date +%s.%N >"$DATA/threads_t1") &
  THREADS_PID=$!
fi
drive "$PORT" "$DURATION" --latency | tee "$DATA/wrk.txt"
t1=$(date +%s.%N)
cpu1=$(cpu_ticks)
[ "$PAUSE_PROJECTIONS" = 0 ] || set_paused resume

if [ -z "$QUERY_PORT" ]; then
  events=$(( ($(sed -nE 's/^requests=([0-9]+).*/\1/p' "$DATA/wrk.txt") - $(sed -nE 's/.* non2xx=([0-9]+).*/\1/p' "$DATA/wrk.txt")) * SPANS_PER_REQUEST ))
else
  events=$(( $(log_position) - events0 ))
fi
w0=$(date +%s.%N)
if [ -n "$QUERY_PORT" ]; then
  curl -fsS -H "Authorization: Bearer $KEY" "http://127.0.0.1:$QUERY_PORT/api/projections/analytics/wait?timeoutSeconds=300" >/dev/null \
    || { tail -n 40 "$DATA"/*.log; exit 1; }
fi
w1=$(date +%s.%N)
# The detectors run on a CPU budget (issue 15): under a peak their findings lag; how long until they caught up.
if [ -z "$QUERY_PORT" ]; then
  detections_lag="n/a (TOPOLOGY=commands has no projection)"
elif [ "${DETECTIONS_WAIT:-1}" = 0 ]; then
  detections_lag="not waited for (DETECTIONS_WAIT=0)"
elif curl -fs -o /dev/null -H "Authorization: Bearer $KEY" "http://127.0.0.1:$QUERY_PORT/api/projections/detections/wait?timeoutSeconds=600"; then
  d1=$(date +%s.%N); detections_lag="$(echo "$d1 - $w0" | bc -l | xargs printf '%.2f')s after the load ended"
else
  detections_lag="n/a (detections off)"
fi
rss_kb=$(peak_rss_kb)
if [ "${PROFILE:-}" = 1 ]; then
  wait "$PERF_PID" || echo "perf record failed (exit $?): $(tail -n 5 "$DATA/perf.log")" >&2
  echo "top frames by self time (perf, AgentStack's processes):"
  perf report -i "$DATA/perf.data" --no-children -g none --sort dso,sym --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -n "${PROFILE_TOP:-30}" || true
  echo "by thread:"; perf report -i "$DATA/perf.data" --no-children -g none --sort comm --stdio 2>/dev/null | grep -E "^ +[0-9]" | head -n 15 || true
  if [ -n "${PROFILE_KEEP:-}" ]; then cp "$DATA/perf.data" "$PROFILE_KEEP"; fi
fi

if [ "${THREADS:-}" = 1 ]; then
  wait "$THREADS_PID" || true
  echo "CPU by thread name, % of one core ($(( DURATION - 6 )) s of the measured run):"
  LC_ALL=C join -t $'\t' -a2 -e0 -o 0,1.2,2.2 "$DATA/threads0" "$DATA/threads1" | awk -F'\t' -v hz="$(getconf CLK_TCK)" \
    -v dt="$(echo "$(cat "$DATA/threads_t1") - $(cat "$DATA/threads_t0")" | bc -l)" \
    '{ d = ($3 - $2) / hz / dt * 100; total += d; if (d >= 0.5) printf "%6.1f%%  %s\n", d, $1 } END { printf "%6.1f%%  all threads\n", total }' \
    | sort -rn
fi
if [ "${ALLOC:-}" = 1 ]; then
  wait "$ALLOC_PID" || true
  echo "allocations (dotnet-trace gc-verbose, 10 s from 5 s into the run, load/alloc-report):"
  dotnet run -c Release --project "$ROOT/load/alloc-report" -- "$DATA/alloc.nettrace" "${ALLOC_TOP:-15}" \
    || { echo "no allocation trace: $(tail -n 5 "$DATA/alloc.log")" >&2; }
fi

elapsed=$(echo "$t1 - $t0" | bc -l)
spans_per_s=$(echo "$events / $elapsed" | bc)
echo
echo "shape: $SHAPE ($SPANS_PER_REQUEST spans a request)"
echo "durable spans: $events in ${elapsed}s => $spans_per_s spans/s"
grep -E "latency_p50_ms|non2xx|long_trace" "$DATA/wrk.txt" || true
echo "AgentStack CPU (${#PIDS[@]} processes): $(echo "($cpu1 - $cpu0) / $hz / $elapsed * 100" | bc -l | xargs printf '%.0f')% of one core (2 cores = 200%)"
echo "AgentStack peak RSS (sum): $((rss_kb / 1024)) MiB"
if [ -n "$QUERY_PORT" ]; then
  echo "last span queryable in traces: $(echo "$w1 - $w0" | bc -l | xargs printf '%.2f')s after the load ended"
else
  echo "last span queryable in traces: n/a (TOPOLOGY=commands has no projection)"
fi
echo "detections caught up: $detections_lag"

[ "${RAW:-1}" = 1 ] && [ -z "${RATE:-}" ] || exit 0
# The raw limit, same load, same run: AgentStack is stopped first so the two never share the cores.
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
PIDS=()
RAW_DLL="$ROOT/load/raw-append/bin/Release/net10.0/RawAppend.dll"
[ -f "$RAW_DLL" ] || dotnet build "$ROOT/load/raw-append" -c Release -v q -clp:ErrorsOnly >/dev/null
RAW_PORT=$((PORT + 100))
dotnet "$RAW_DLL" --urls "http://127.0.0.1:$RAW_PORT" --db "$DATA/raw.db" >"$DATA/raw.log" 2>&1 &
PIDS+=($!)
until curl -fs "http://127.0.0.1:$RAW_PORT/health/ready" >/dev/null; do sleep 0.2; done
AGENTSTACK_KEY="$KEY" TRACES=10 SPANS=10 wrk -t2 -c"$CONNECTIONS" -d5s -s "$ROOT/load/spans.lua" "http://127.0.0.1:$RAW_PORT" >/dev/null
r0=$(date +%s.%N)
drive "$RAW_PORT" "$DURATION" --latency >"$DATA/raw.txt"
r1=$(date +%s.%N)
if [ "$SHAPE" = long ]; then
  raw_spans_per_s=$(sed -nE 's/.*: ([0-9]+) spans\/s.*/\1/p' "$DATA/raw.txt")
else
  requests=$(sed -nE 's/^requests=([0-9]+).*/\1/p' "$DATA/raw.txt")
  raw_spans_per_s=$(echo "$requests * $SPANS_PER_REQUEST / ($r1 - $r0)" | bc)
fi
echo "raw limit (load/raw-append, same bodies): $raw_spans_per_s spans/s; $(grep -E "latency_p50_ms|long_trace_growth" "$DATA/raw.txt" | tr '\n' ' ')"
echo "ratio to the raw limit: $(echo "$spans_per_s / $raw_spans_per_s" | bc -l | xargs printf '%.2f')"
