#!/usr/bin/env bash
# Packs every SDK project (issue 6) and checks each package: README, licence, repository metadata,
# XML docs beside every assembly, and a symbols package. Exits non-zero on the first gap.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
cd "$ROOT"
for project in Sdk/*/*.csproj; do
  dotnet pack "$project" -c Release --no-build -o "$OUT" -nologo -v quiet >/dev/null
done
count=0
for package in "$OUT"/*.nupkg; do
  [[ "$package" == *.symbols.nupkg ]] && continue
  name="$(basename "$package")"
  listing="$(unzip -l "$package")"
  nuspec="$(unzip -p "$package" '*.nuspec')"
  grep -q "README.md" <<<"$listing" || { echo "$name: no README.md" >&2; exit 1; }
  grep -q "<license type=\"expression\">" <<<"$nuspec" || { echo "$name: no licence expression" >&2; exit 1; }
  grep -q "<repository " <<<"$nuspec" || { echo "$name: no repository metadata (SourceLink)" >&2; exit 1; }
  dlls=$(grep -cE "lib/.*\.dll$" <<<"$listing" || true)
  xmls=$(grep -cE "lib/.*\.xml$" <<<"$listing" || true)
  [ "$dlls" -gt 0 ] && [ "$dlls" = "$xmls" ] || { echo "$name: $dlls assemblies but $xmls XML doc files" >&2; exit 1; }
  [ -f "${package%.nupkg}.snupkg" ] || { echo "$name: no symbols package" >&2; exit 1; }
  count=$((count + 1))
done
[ "$count" -ge 4 ] || { echo "expected 4 SDK packages, got $count" >&2; exit 1; }
echo "packages: $count SDK packages complete (README, licence, repository, XML docs, symbols)"
