#!/usr/bin/env bash
# Packs the SDK packages with a release version: scripts/pack-sdk.sh 1.2.3 OUT_DIR (release.yml runs
# exactly this; it runs the same here).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: scripts/pack-sdk.sh VERSION OUT_DIR" >&2; exit 2; }
VERSION="$1" OUT="$2"
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "not a SemVer version: $VERSION" >&2; exit 2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mkdir -p "$OUT"
for project in Sdk/*/*.csproj; do
  dotnet pack "$project" -c Release -o "$OUT" -nologo -v quiet -p:Version="$VERSION" >/dev/null
done
ls "$OUT"/*.nupkg
