#!/usr/bin/env bash
# Rebuild benchmark (issue 14): N span events (default 1,000,000) written straight into a SQLite event store,
# AgentStack.Server started on it, the live projection caught up, then POST /api/projections/analytics/rebuild
# while the dashboard's trace list and error-rate queries run back to back. Prints events/s replayed and the
# queries' p50/p99 idle and during the rebuild. Usage: load/bench-rebuild.sh [events] [data dir]
# PROFILE=<perf.data>: perf samples the server during the rebuild (report: perf report -i <file> --sort dso,sym).
# QUERY_INTERVAL_MS: the dashboard reads' pace (default 1000; 0: back to back). DETECTIONS=on: the detector
# projections run too (off by default: they would be catching up on the new log; see Program.cs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
dotnet build Queries/AgentStack.Server -c Release -v q -clp:ErrorsOnly
dotnet build benchmarks/AgentStack.Rebuild.Benchmarks -c Release -v q -clp:ErrorsOnly
# A data directory given as the second argument is kept, and a log already in it is reused (reruns on one log).
if [ -n "${2:-}" ]; then DATA="$2"; else DATA="$(mktemp -d /tmp/agentstack-rebuild-bench.XXXXXX)"; trap 'rm -rf "$DATA"' EXIT; fi
dotnet benchmarks/AgentStack.Rebuild.Benchmarks/bin/Release/net10.0/AgentStack.Rebuild.Benchmarks.dll \
  Queries/AgentStack.Server/bin/Release/net10.0/AgentStack.Server.dll "${1:-1000000}" "$DATA"
