#!/usr/bin/env bash
# Installs what AgentStack needs and is missing, then builds it (Release). Idempotent: a second run
# only re-checks. Used by ./run.sh and ./test.sh; safe to run alone.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

apt_install() {
  # apt only when something is missing; update once, wait for a concurrent apt instead of failing.
  if [ "$(id -u)" != 0 ]; then
    log "missing packages: $*; install them (as root: apt-get install -y $*) and run again"
    exit 1
  fi
  if [ ! -f /tmp/.agentstack-apt-updated ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq && touch /tmp/.agentstack-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}

command -v dotnet >/dev/null || { log "the .NET 10 SDK is required (dotnet on PATH): https://dot.net"; exit 1; }
command -v npm >/dev/null || { log "installing Node.js and npm"; apt_install nodejs npm; }
# yamllint checks the GitHub workflows; only the tests need it (./test.sh sets AGENTSTACK_SETUP_TESTS).
if [ -n "${AGENTSTACK_SETUP_TESTS:-}" ]; then
  command -v yamllint >/dev/null || { log "installing yamllint"; apt_install yamllint; }
fi

# NuGet: the local feed for packages this registry copy lacks (Marten's lock dependency).
scripts/setup-nuget-shims.sh

# chDB: the ClickHouse engine as a library, from npm (too big to commit).
scripts/setup-chdb.sh >/dev/null

# The dashboard (Angular), served by the query host from web-ui/dist/browser.
scripts/setup-web-ui.sh

# Real JavaScript OpenTelemetry clients for the OTLP tests (Node; installed from npm).
scripts/setup-otlp-clients.sh

log "building AgentStack (Release)"
dotnet build AgentStack.sln -c Release -nologo -v quiet -clp:ErrorsOnly
