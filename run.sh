#!/usr/bin/env bash
# Sets up what is missing and runs AgentStack (AgentStack.Server) in the foreground on the embedded
# default: SQLite event log + chDB analytics + in-memory bus, data under ./.data.
# Honours ASPNETCORE_URLS (default http://localhost:5000), AgentStack__DataDirectory and
# AgentStack__BootstrapApiKey (docs/architecture.md, public contracts).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")" && pwd)"
cd "$ROOT"
scripts/setup.sh
export ASPNETCORE_URLS="${ASPNETCORE_URLS:-http://localhost:5000}"
echo "AgentStack on $ASPNETCORE_URLS (API docs: $ASPNETCORE_URLS/scalar); Ctrl+C stops it." >&2
exec dotnet Queries/AgentStack.Server/bin/Release/net10.0/AgentStack.Server.dll
