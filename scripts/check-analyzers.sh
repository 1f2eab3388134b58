#!/usr/bin/env bash
# .NET security analyzers as errors (issue 17.6). Directory.Build.props turns every security rule on
# (AnalysisModeSecurity=All) and every warning into an error (TreatWarningsAsErrors). This check refuses
# what would quietly turn them off: another AnalysisModeSecurity, a NoWarn, WarningsNotAsErrors or
# .editorconfig severity for a security rule (CA2100, CA2300-CA2362, CA3xxx, CA53xx, CA54xx), or a
# [SuppressMessage] of one without a Justification (a #pragma without a // reason). A justified exception is a
# [SuppressMessage] on the one member, or a #pragma around the one line. Then it builds the solution, so any finding fails here (--no-build: the caller just built it,
# as ./test.sh does through scripts/setup.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
python3 - <<'PY'
import re, subprocess, sys
errors = []
props = open("Directory.Build.props").read()
if not re.search(r"<AnalysisModeSecurity>\s*All\s*</AnalysisModeSecurity>", props):
    errors.append("Directory.Build.props: AnalysisModeSecurity is not All")
if not re.search(r"<TreatWarningsAsErrors>\s*true\s*</TreatWarningsAsErrors>", props):
    errors.append("Directory.Build.props: TreatWarningsAsErrors is not true")
rule = r"CA(?:2100|23[0-6]\d|3\d{3}|5[34]\d\d)"
files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                       capture_output=True, check=True).stdout.decode().split("\0")
for path in filter(None, files):
    if not re.search(r"(\.csproj|\.props|\.targets|\.editorconfig|\.globalconfig|\.cs)$", path):
        continue
    try:
        text = open(path, encoding="utf-8").read()
    except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
        continue
    for n, line in enumerate(text.splitlines(), 1):
        where = f"{path}:{n}"
        if path != "Directory.Build.props" and "<AnalysisModeSecurity>" in line:
            errors.append(f"{where}: sets AnalysisModeSecurity again")
        if re.search(r"<(NoWarn|WarningsNotAsErrors)>", line) and re.search(rule, line):
            errors.append(f"{where}: turns a security rule off (NoWarn or WarningsNotAsErrors)")
        if re.search(r"dotnet_diagnostic\." + rule + r"\.severity\s*=\s*(none|silent|suggestion|warning)", line):
            errors.append(f"{where}: lowers a security rule's severity")
        if "SuppressMessage" in line and re.search(rule, line) and "Justification" not in line:
            errors.append(f"{where}: suppresses a security rule without a Justification")
        if re.search(r"#pragma\s+warning\s+disable\b.*" + rule, line) and "//" not in line:
            errors.append(f"{where}: #pragma warning disable of a security rule without a reason (// why) on the line")
for e in errors:
    print("analyzer check:", e)
print(f"security analyzers: {len(errors)} problems")
sys.exit(1 if errors else 0)
PY
if [ "${1:-}" != "--no-build" ]; then
  dotnet build AgentStack.sln -c Release -v q -clp:ErrorsOnly
fi
