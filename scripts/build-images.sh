#!/usr/bin/env bash
# Builds one image per host target of the Dockerfile: scripts/build-images.sh REGISTRY/NAMESPACE VERSION [--push]
# (release.yml runs exactly this). Needs a Docker engine (absent on the development machines).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: scripts/build-images.sh REGISTRY/NAMESPACE VERSION [--push]" >&2; exit 2; }
PREFIX="$1" VERSION="$2" PUSH="${3:-}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
for target in commands projections queries server; do
  image="$PREFIX/agentstack-$target"
  tags=(-t "$image:$VERSION")
  # A pre-release (1.2.0-rc.1) never moves :latest.
  [[ "$VERSION" == *-* ]] || tags+=(-t "$image:latest")
  docker build --build-arg DOTNET_REGISTRY="${DOTNET_REGISTRY:?set DOTNET_REGISTRY to the registry serving the official .NET images}" --target "$target" "${tags[@]}" .
  if [ "$PUSH" = "--push" ]; then
    docker push --all-tags "$image"
  fi
done
