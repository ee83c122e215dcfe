#!/usr/bin/env bash
# The longest stall of a writer on a busy core table while a migration adds a plugin of TABLES
# tables (default 300), one of them with a foreign key into that table (public.agents):
#   - a fresh embedded server; the core plugin migrated alone;
#   - pgbench inserting into agents over one connection for WRITE_SECONDS, logging every latency;
#   - after 2 s, `plinth migrate` with core and bench/plugins/many_tables.so (PLINTH_BENCH_AGENT_KEY);
#   - the longest insert of the whole run, and the migration's wall time.
# Usage: bench/writer_stall.sh [PLINTH_EXE] [TABLES]   (default: build/runtime/plinth 300)
# The plugins come from BUILD (default build), so two plinth binaries run the very same plugins.
set -euo pipefail
cd "$(dirname "$0")/.."
PLINTH=$(realpath "${1:-build/runtime/plinth}")
TABLES=${2:-300}
BUILD=${BUILD:-build}
WRITE_SECONDS=${WRITE_SECONDS:-20}  # must outlast the migration

DATA=$(mktemp -d /tmp/plinth-stall.XXXXXX)
chmod 755 "$DATA"  # the server runs as an unprivileged user that must reach its data folder
trap '"$PLINTH" db stop --data-dir "$DATA/db" >/dev/null 2>&1 || true; rm -rf "$DATA"' EXIT
"$PLINTH" db start --data-dir "$DATA/db" >/dev/null 2>&1
URL=$("$PLINTH" db url --data-dir "$DATA/db")
mkdir "$DATA/core" "$DATA/all"
cp "$BUILD/plugins/core.so" "$DATA/core/"
cp "$BUILD/plugins/core.so" "$BUILD/bench/plugins/many_tables.so" "$DATA/all/"
"$PLINTH" migrate --plugins "$DATA/core" --database-url "$URL" >/dev/null 2>&1

echo "INSERT INTO agents (name) VALUES ('writer');" >"$DATA/insert.sql"
(cd "$DATA" && pgbench -n -c 1 -T "$WRITE_SECONDS" -f insert.sql -l "$URL" >/dev/null 2>&1) &
writer=$!
sleep 2
t0=$(date +%s%N)
PLINTH_BENCH_TABLES=$TABLES PLINTH_BENCH_AGENT_KEY=1 "$PLINTH" migrate --plugins "$DATA/all" --database-url "$URL" \
    >"$DATA/migrate.log" 2>&1 || { cat "$DATA/migrate.log"; exit 1; }
t1=$(date +%s%N)
wait "$writer"
# A pgbench log line: client transaction latency_us script epoch_s epoch_us.
awk -v ms="$(( (t1 - t0) / 1000000 ))" -v tables="$TABLES" \
    '{ if ($3 > max) max = $3 } END { printf "tables %d: migrate %d ms; longest insert into agents %.1f ms (%d inserts)\n", tables, ms, max / 1000, NR }' \
    "$DATA"/pgbench_log.*
