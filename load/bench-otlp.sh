#!/usr/bin/env bash
# POST /v1/traces (OTLP protobuf, 100 unique spans a request): load/bench-otlp.sh [seconds] [connections]
exec "$(dirname "$0")/bench.sh" "$(dirname "$0")/otlp-protobuf.lua" "$@"
