#!/usr/bin/env bash
# Builds pgvector from the vendored archive and installs it into the system's PostgreSQL 15, when
# the server does not offer it yet. Called by `./dev.sh test` (root on CI and the developers'
# machines); Debian 12 does not package pgvector. Without the archive it says so and does nothing:
# the vector tests then report themselves skipped.
#   tests/support/install_pgvector.sh [ARCHIVE]
set -euo pipefail
cd "$(dirname "$0")/../.."

archive=${1:-${PLINTH_PGVECTOR_ARCHIVE:-../shared/vendor/pgvector-0.8.6.tar.gz}}
pg_config=/usr/lib/postgresql/15/bin/pg_config
control=/usr/share/postgresql/15/extension/vector.control

if [ -f "$control" ]; then
    exit 0
fi
if [ ! -f "$archive" ]; then
    echo "pgvector: $archive not found; the vector tests will be skipped" >&2
    exit 0
fi
if [ ! -x "$pg_config" ]; then
    echo "pgvector: $pg_config not found (package postgresql-server-dev-15)" >&2
    exit 1
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$archive" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
echo "pgvector: building $(basename "$src") from $archive" >&2
# OPTFLAGS="" leaves out -march=native: the library must run on whatever machine runs the tests.
make -C "$src" -s -j "${PLINTH_JOBS:-2}" PG_CONFIG="$pg_config" OPTFLAGS="" >&2
"${sudo[@]}" make -C "$src" -s install PG_CONFIG="$pg_config" OPTFLAGS="" >&2
echo "pgvector: installed into $(dirname "$control")" >&2
