#!/usr/bin/env bash
# Marten 9.58 depends on `Patched.DistributedLock.Core`, which this machine's copy of NuGet lacks
# (docs/environment.md). When the registry has it, this does nothing but create the empty local
# feed folder nuget.config lists. When it lacks it, we repack the upstream `DistributedLock.Core`
# 1.0.9 (same code, the package Patched.* was forked from) under the id and version Marten asks for,
# into .deps/nuget-shims. The shim is generated here at restore time and never committed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FEED="$ROOT/.deps/nuget-shims"
ID=patched.distributedlock.core
VERSION=1.0.11
mkdir -p "$FEED"

[ -f "$FEED/$ID.$VERSION.nupkg" ] && exit 0
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# Ask the configured registries through dotnet itself (no registry host named here): a throwaway
# project restored with the user's sources only, into a throwaway packages folder.
restore() { # id version -> 0 when the registry serves it
  mkdir -p "$WORK/probe-$1"
  cat > "$WORK/probe-$1/probe.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>netstandard2.0</TargetFramework>
<ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup>
<ItemGroup><PackageReference Include="$1" Version="[$2]" /></ItemGroup></Project>
XML
  (cd "$WORK/probe-$1" && dotnet restore probe.csproj --packages "$WORK/packages" -nologo -v q >/dev/null 2>&1)
}
if restore Patched.DistributedLock.Core "$VERSION"; then
  exit 0 # the real package is there: no shim
fi
restore DistributedLock.Core 1.0.9 || { echo "[setup] DistributedLock.Core 1.0.9 could not be restored" >&2; exit 1; }
cp "$WORK/packages/distributedlock.core/1.0.9/distributedlock.core.1.0.9.nupkg" "$WORK/upstream.nupkg"
mkdir "$WORK/pkg"
(cd "$WORK/pkg" && unzip -q ../upstream.nupkg)
NUSPEC="$(ls "$WORK/pkg"/*.nuspec)"
sed -i -E "s#<id>[^<]*</id>#<id>Patched.DistributedLock.Core</id>#; s#<version>[^<]*</version>#<version>$VERSION</version>#" "$NUSPEC"
mv "$NUSPEC" "$WORK/pkg/Patched.DistributedLock.Core.nuspec"
# Signatures and package metadata of the original no longer match the new id.
rm -rf "$WORK/pkg/.signature.p7s" "$WORK/pkg/package" "$WORK/pkg/_rels" "$WORK/pkg/[Content_Types].xml"
python3 - "$WORK/pkg" "$FEED/$ID.$VERSION.nupkg" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
types = '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' \
        '<Default Extension="nuspec" ContentType="application/octet" /><Default Extension="dll" ContentType="application/octet" />' \
        '<Default Extension="xml" ContentType="application/octet" /><Default Extension="md" ContentType="application/octet" />' \
        '<Default Extension="png" ContentType="application/octet" /></Types>'
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml", types)
    for base, _, files in os.walk(src):
        for f in files:
            path = os.path.join(base, f)
            z.write(path, os.path.relpath(path, src))
PY
echo "[setup] generated NuGet shim $FEED/$ID.$VERSION.nupkg (see scripts/setup-nuget-shims.sh)" >&2
