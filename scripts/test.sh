#!/usr/bin/env bash
# Builds Abierto and runs every test: unit tests (GoogleTest, the storage suite on SQLite and on
# a throwaway PostgreSQL cluster), integration tests against the real binary on both backends,
# and browser tests in Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD_DIR:-build}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build"

pgdir=$(mktemp -d /tmp/abierto-pg.XXXXXX)
rmdir "$pgdir"
cleanup() { scripts/pg-test-cluster.sh stop "$pgdir" >/dev/null 2>&1 || true; }
trap cleanup EXIT
ABIERTO_TEST_PG_URL=$(scripts/pg-test-cluster.sh start "$pgdir")
export ABIERTO_TEST_PG_URL ABIERTO_PG_CLUSTER_DIR="$pgdir"
echo "PostgreSQL de prueba: $ABIERTO_TEST_PG_URL"

(cd "$build" && ctest --output-on-failure -j2)

export ABIERTO_BIN="$root/$build/abierto"
if [ -d tests/integration ]; then
  node --test --test-concurrency=1 tests/integration/
fi
if [ -d tests/browser ]; then
  node --test --test-concurrency=1 tests/browser/
fi
