#!/usr/bin/env bash
# POST /v1/spans (native JSON, 100 unique ~1 KB spans a request): load/bench-ingest.sh [seconds] [connections]
exec "$(dirname "$0")/bench.sh" "$(dirname "$0")/spans.lua" "$@"
