#!/usr/bin/env bash
# A no-op start against `psql -c 'SELECT 1'`, at each table count, with each fast-path detector.
# For each size N: a fresh database migrated with N tables (bench/plugins/many_tables.cpp), as the
# embedded server's superuser, so the DDL epoch's event triggers are installed. Then, medians of
# RUNS runs each, every run a new process and a new backend:
#   psql_ms         psql -X -q -c 'SELECT 1'
#   epoch_ms        plinth migrate with nothing to do: the DDL epoch decides
#   fingerprint_ms  the same with the event triggers disabled: the full fingerprint decides
#   check_ms        plinth check (load, validate, order; no database): the client's share
# and the no-op start's round trips with the epoch (pg_stat_database.xact_commit, as startup.sh).
# Usage: bench/noop_start.sh [BUILD_DIR] [SIZES...]   (default: build 1000 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; shift || true
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 5000)
PLINTH=$PWD/$BUILD/runtime/plinth
PLUGINS=$PWD/$BUILD/bench/plugins
RUNS=${RUNS:-9}

source bench/server.sh
triggers() {  # ENABLE ALWAYS or DISABLE the three event triggers of the journal schema plinth
    for t in plinth_ddl_epoch_drop plinth_ddl_epoch_end plinth_ddl_epoch_start; do
        psql -X -q "$1" -c "ALTER EVENT TRIGGER $t $2" >/dev/null
    done
}

printf '%8s %8s %9s %15s %9s %13s %17s %11s\n' tables psql_ms epoch_ms fingerprint_ms check_ms epoch_ratio fingerprint_ratio round_trips
for n in "${SIZES[@]}"; do
    db="noop_$n"
    sql "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; sql "CREATE DATABASE $db" >/dev/null
    target=$(db_url "$db")
    export PLINTH_BENCH_TABLES=$n
    "$PLINTH" migrate --plugins "$PLUGINS" --database-url "$target" >/dev/null 2>&1
    migrate() { "$PLINTH" migrate --plugins "$PLUGINS" --database-url "$target"; }
    migrate >/dev/null 2>&1  # warms the server's caches for both
    psql_ms=$(median_ms psql -X -q "$target" -c 'SELECT 1')
    epoch=$(median_ms migrate)
    migrate 2>&1 | grep -q 'DDL epoch unchanged' || { echo "the epoch did not decide at $n tables" >&2; exit 1; }
    sleep 1; before=$(commits "$db"); migrate >/dev/null 2>&1; sleep 1; after=$(commits "$db")
    base_before=$(commits "$db"); psql -X -q "$target" -c 'SELECT 1' >/dev/null; sleep 1; base_after=$(commits "$db")
    trips=$(( (after - before) - (base_after - base_before) + 1 ))
    triggers "$target" DISABLE
    fingerprint=$(median_ms migrate)
    triggers "$target" 'ENABLE ALWAYS'
    check=$(median_ms "$PLINTH" check --plugins "$PLUGINS")
    printf '%8s %8s %9s %15s %9s %13s %17s %11s\n' "$n" "$psql_ms" "$epoch" "$fingerprint" "$check" \
        "$(awk -v a="$epoch" -v b="$psql_ms" 'BEGIN{printf "%.2f", a/b}')" \
        "$(awk -v a="$fingerprint" -v b="$psql_ms" 'BEGIN{printf "%.2f", a/b}')" "$trips"
done
