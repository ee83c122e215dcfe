#!/usr/bin/env bash
# A backfilled NOT NULL column added to a table of 1,000,000 rows while one connection inserts and
# updates rows of it without pause: how long the migration (the backfill after its commit, then NOT
# NULL online) takes, and the longest single write during it. It runs the test case that does this
# (tests/migrate/backfill_test.cpp) on the test cluster and prints its measurement; the test asserts
# correctness, never a time.
# Usage: bench/backfill.sh [BUILD]   (default: build; a tree built with meson, tests included)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$(realpath "${1:-build}")
export PLINTH_TEST_MIGRATE_PLUGINS_DIR="$BUILD/tests/migrate/plugins"
export PLINTH_EXE="$BUILD/runtime/plinth"
"$BUILD/tests/migrate/backfill_test" -tc='*while a writer inserts and updates*' 2>&1 |
    grep -E 'MESSAGE|backfill of|Status'
