#!/usr/bin/env bash
# Sets up what is missing and runs every test, one test project after another, against the real
# engines (SQLite files, chDB, the server as a child process). Exits non-zero if any test fails.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")" && pwd)"
cd "$ROOT"
AGENTSTACK_SETUP_TESTS=1 scripts/setup.sh
scripts/setup-chromium.sh  # the dashboard's browser tests drive /usr/bin/chromium

# Real PostgreSQL and RabbitMQ for the distributed tests, in a temp folder, stopped at the end.
eval "$(scripts/services.sh start)"
trap 'scripts/services.sh stop' EXIT

projects=(
  tests/AgentStack.UnitTests
  tests/AgentStack.Security.Tests
  tests/AgentStack.EventStore.Tests
  tests/AgentStack.Audit.Tests
  tests/AgentStack.Analytics.Tests
  tests/AgentStack.Projections.Tests
  tests/AgentStack.EndToEndTests
  tests/AgentStack.Sdk.Tests
  tests/AgentStack.Otlp.Tests
  tests/AgentStack.Dashboard.Tests
  tests/AgentStack.FuzzTests
  tests/AgentStack.Anomalies.Tests
)
passed=0 failed=0 skipped=0 status=0
results="$(mktemp -d)"
# Suites that count what they did (fuzzing, isolation matrix) leave their counts here; printed at the end.
export AGENTSTACK_TEST_REPORT_DIR="$results/reports"
for project in "${projects[@]}"; do
  name="$(basename "$project")"
  echo "=== $name" >&2
  set +e
  dotnet test "$project" -c Release --no-build --nologo --blame-hang --blame-hang-timeout 10m 2>&1 | tee "$results/$name.log"
  code=${PIPESTATUS[0]}
  set -e
  [ "$code" = 0 ] || status=1
  line="$(grep -E '(Passed|Failed)!  - Failed:' "$results/$name.log" | tail -n 1 || true)"
  if [ -z "$line" ]; then
    echo "!!! $name: no test summary (build or host failure)" >&2
    status=1
    continue
  fi
  f=$(sed -E 's/.*Failed: *([0-9]+).*/\1/' <<<"$line")
  p=$(sed -E 's/.*Passed: *([0-9]+).*/\1/' <<<"$line")
  s=$(sed -E 's/.*Skipped: *([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done
# The Angular unit tests (Vitest) print their own "N passed, N failed" line.
set +e
web="$(scripts/test-web-ui.sh 2>&1 | tail -n 1)"
code=$?
set -e
echo "=== web-ui (Vitest): $web" >&2
[ "$code" = 0 ] || status=1
passed=$((passed + $(grep -oE '[0-9]+ passed' <<<"$web" | grep -oE '[0-9]+' || echo 0)))
failed=$((failed + $(grep -oE '[0-9]+ failed' <<<"$web" | grep -oE '[0-9]+' || echo 0)))

# The SDK packages (issue 6): dotnet pack, then README, licence, repository metadata, XML docs, symbols.
scripts/check-packages.sh || status=1
# Security and delivery checks (issue 17), the same commands the GitHub workflow runs.
scripts/check-vulnerable.sh || status=1
scripts/scan-secrets.sh || status=1
scripts/check-analyzers.sh --no-build || status=1  # scripts/setup.sh built the solution, analyzers as errors
scripts/check-workflows.sh || status=1

echo
if [ -d "$AGENTSTACK_TEST_REPORT_DIR" ]; then
  cat "$AGENTSTACK_TEST_REPORT_DIR"/*.txt
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
