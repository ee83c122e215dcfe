#!/usr/bin/env bash
# An HNSW index added through plinth to a table of ROWS rows (default 100,000) of 384 dimensions
# while a writer inserts into it continuously: how long the migration (the index built CONCURRENTLY
# after its commit) takes, and the longest insert during it.
#   - a fresh embedded server; pgvector must be installed (tests/support/install_pgvector.sh);
#   - bench/vector/vector_docs.so without its index migrated, ROWS random vectors loaded;
#   - pgbench inserting one random vector at a time over one connection, logging every latency,
#     in runs of 5 s (each run writes its log when it ends) until the migration has finished;
#   - after 2 s, `plinth migrate` with PLINTH_BENCH_HNSW=1, the version that declares the index.
# Usage: bench/vector_index.sh [PLINTH_EXE] [ROWS]   (default: build/runtime/plinth 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
PLINTH=$(realpath "${1:-build/runtime/plinth}")
ROWS=${2:-100000}
BUILD=${BUILD:-build}

DATA=$(mktemp -d /tmp/plinth-vector.XXXXXX)
chmod 755 "$DATA"  # the server runs as an unprivileged user that must reach its data folder
trap '"$PLINTH" db stop --data-dir "$DATA/db" >/dev/null 2>&1 || true; rm -rf "$DATA"' EXIT
"$PLINTH" db start --data-dir "$DATA/db" >/dev/null 2>&1
URL=$("$PLINTH" db url --data-dir "$DATA/db")
mkdir "$DATA/plugins"
cp "$BUILD/bench/vector/vector_docs.so" "$DATA/plugins/"
"$PLINTH" migrate --plugins "$DATA/plugins" --database-url "$URL" >/dev/null 2>&1
# A subquery per row (its WHERE names g), so each row gets its own random vector.
psql -q "$URL" -c "INSERT INTO bench.docs (embedding) SELECT (SELECT array_agg(random())::vector(384)
                   FROM generate_series(1, 384) WHERE g > 0) FROM generate_series(1, $ROWS) g"
psql -q "$URL" -c "VACUUM ANALYZE bench.docs"

echo "INSERT INTO bench.docs (embedding) SELECT array_agg(random())::vector(384) FROM generate_series(1, 384);" \
    >"$DATA/insert.sql"
(
    cd "$DATA"
    run=0
    while [ ! -e migrated ]; do
        run=$((run + 1))
        pgbench -n -c 1 -T 5 -f insert.sql -l --log-prefix="writer$run" "$URL" >/dev/null 2>&1
    done
) &
writer=$!
sleep 2
t0=$(date +%s%N)
PLINTH_BENCH_HNSW=1 "$PLINTH" migrate --plugins "$DATA/plugins" --database-url "$URL" \
    >"$DATA/migrate.log" 2>&1 || { cat "$DATA/migrate.log"; exit 1; }
t1=$(date +%s%N)
touch "$DATA/migrated"
wait "$writer"
index=$(psql -Atq "$URL" -c "SELECT pg_get_indexdef('bench.docs_embedding_idx'::regclass)
                             || ' (valid: ' || indisvalid || ')' FROM pg_index
                             WHERE indexrelid = 'bench.docs_embedding_idx'::regclass")
echo "$index"
# A pgbench log line: client transaction latency_us script epoch_s epoch_us.
awk -v ms="$(( (t1 - t0) / 1000000 ))" -v rows="$ROWS" \
    '{ if ($3 > max) max = $3; sum += $3 } END { printf "rows %d: migrate (HNSW built CONCURRENTLY) %d ms; longest insert %.1f ms, mean %.2f ms (%d inserts)\n", rows, ms, max / 1000, sum / NR / 1000, NR }' \
    "$DATA"/writer*.*
