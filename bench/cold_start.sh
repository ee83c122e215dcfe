#!/usr/bin/env bash
# A cold start against its floor. For each size N, on plinth's embedded server:
#   - migrate: `plinth migrate` of the benchmark plugin (N tables) into an empty database, a whole
#     process from exec to exit, and the round trips it counted (its log);
#   - pg_dump floor: the schema that migration made, dumped by pg_dump (its statement shape: bare
#     CREATE TABLE, then ALTER TABLE ... ADD CONSTRAINT, CREATE INDEX), replayed into an empty
#     database with `psql -1 -f`;
#   - plinth script: `plinth plan --format sql` (plinth's statement shape, without the judgement,
#     the journal or the checks around them) replayed the same way.
# Each time is the median of RUNS runs, each into a fresh database.
# Usage: bench/cold_start.sh [BUILD_DIR] [SIZES...]   (default: build 800)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; shift || true
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(800)
PLINTH=$PWD/$BUILD/runtime/plinth
PLUGINS=$PWD/$BUILD/bench/plugins
RUNS=${RUNS:-3}

source bench/server.sh
fresh() { sql "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1; sql "CREATE DATABASE $1" >/dev/null; db_url "$1"; }

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

printf '%8s %12s %12s %14s %14s %13s %12s\n' tables migrate_ms pg_dump_ms plinth_sql_ms migrate/floor statements round_trips
for n in "${SIZES[@]}"; do
    export PLINTH_BENCH_TABLES=$n
    migrate=() dump=() script=()
    for run in $(seq "$RUNS"); do
        target=$(fresh cold_migrate)
        t0=$(now_ms)
        "$PLINTH" migrate --plugins "$PLUGINS" --database-url "$target" >"$DATA/migrate.log" 2>&1
        t1=$(now_ms); migrate+=("$(elapsed "$t0" "$t1")")
        trips=$(sed -n 's/.*migration done in \([0-9]*\) round trips.*/\1/p' "$DATA/migrate.log")
        statements=$(sed -n 's/.*applied \([0-9]*\) statements in one transaction.*/\1/p' "$DATA/migrate.log")
        if [ "$run" = 1 ]; then
            # The DDL epoch's event triggers are database-wide, not in the excluded schema: left out too.
            pg_dump --schema-only --no-owner --no-privileges --exclude-schema=plinth "$target" |
                awk '/^CREATE EVENT TRIGGER /{skip = 1} skip {if (/;$/) skip = 0; next} /^ALTER EVENT TRIGGER /{next} {print}' >"$DATA/dump.sql"
            # plan exits 2 while work is pending, as it is on an empty database.
            "$PLINTH" plan --format sql --plugins "$PLUGINS" --database-url "$(fresh cold_plan)" >"$DATA/plan.sql" 2>/dev/null ||
                [ $? = 2 ]
        fi
        target=$(fresh cold_dump)
        t0=$(now_ms); psql -X -q -1 -v ON_ERROR_STOP=1 -f "$DATA/dump.sql" "$target" >/dev/null; t1=$(now_ms)
        dump+=("$(elapsed "$t0" "$t1")")
        target=$(fresh cold_script)
        t0=$(now_ms); psql -X -q -1 -v ON_ERROR_STOP=1 -f "$DATA/plan.sql" "$target" >/dev/null; t1=$(now_ms)
        script+=("$(elapsed "$t0" "$t1")")
    done
    m=$(median "${migrate[@]}"); d=$(median "${dump[@]}"); s=$(median "${script[@]}")
    printf '%8s %12s %12s %14s %14s %13s %12s\n' "$n" "$m" "$d" "$s" \
        "$(awk -v a="$m" -v b="$d" 'BEGIN{printf "%.2f", a/b}')" "$statements" "$trips"
done
