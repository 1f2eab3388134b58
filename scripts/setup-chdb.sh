#!/usr/bin/env bash
# Installs chDB (ClickHouse as a library) into <repo>/.deps/chdb, where ChDbLibrary looks for it.
# The .so is ~570 MB, so it is never committed; npm is the distribution channel we can reach
# (docs/environment.md). Idempotent: a present .so of the pinned version is left alone.
set -euo pipefail

CHDB_PACKAGE="@chdb/lib-linux-x64-gnu"
CHDB_VERSION="26.7.3-stable.1"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.deps/chdb"
PKG_DIR="$PREFIX/node_modules/$CHDB_PACKAGE"
SO="$PKG_DIR/libchdb.so"

installed_version() {
  # package.json is the only place the version is recorded; read it without needing jq.
  [[ -f "$PKG_DIR/package.json" ]] || return 0
  sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$PKG_DIR/package.json" | head -n 1
}

if [[ -f "$SO" && "$(installed_version)" == "$CHDB_VERSION" ]]; then
  echo "$SO"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "setup-chdb: npm is required to fetch $CHDB_PACKAGE@$CHDB_VERSION" >&2
  exit 1
fi

mkdir -p "$PREFIX"
echo "setup-chdb: installing $CHDB_PACKAGE@$CHDB_VERSION into $PREFIX" >&2
# --no-save: .deps/chdb is a cache, not a package of ours; no package.json to maintain there.
npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$PREFIX" "$CHDB_PACKAGE@$CHDB_VERSION" >&2

if [[ ! -f "$SO" ]]; then
  echo "setup-chdb: npm finished but $SO is missing" >&2
  exit 1
fi
echo "$SO"
