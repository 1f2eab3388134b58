#!/usr/bin/env bash
# Fails when any NuGet package of the solution, direct or transitive, has a known vulnerability
# (issue 17: release pipeline with security scanning). Runs the same here and in the GitHub workflow.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
dotnet list AgentStack.sln package --vulnerable --include-transitive --format json > "$report"
python3 - "$report" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
found = []
for project in data.get("projects", []):
    for framework in project.get("frameworks", []):
        for kind in ("topLevelPackages", "transitivePackages"):
            for package in framework.get(kind, []):
                for v in package.get("vulnerabilities", []):
                    found.append(f'{project["path"].split("/")[-1]}: {package["id"]} {package["resolvedVersion"]} '
                                 f'{v.get("severity","?")} {v.get("advisoryurl","")}')
for line in sorted(set(found)):
    print("vulnerable:", line)
problems = data.get("problems", [])
for p in problems:
    print("problem:", p.get("text", p))
if found:
    sys.exit(1)
print(f'vulnerable packages: none ({len(data.get("projects", []))} projects, transitive included)')
PY
