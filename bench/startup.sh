#!/usr/bin/env bash
# Start-up cost against table count. For each size N: a fresh database, then
#   - migrate from empty (creates N tables with a foreign key, a unique, an index and a check each),
#   - check (load, validate and order only: no database),
#   - plan (full introspection: 4 catalog queries plus the planner),
#   - a no-op migrate (the fast path), its time and its number of server round trips.
# Round trips are counted as committed transactions in pg_stat_database: every statement plinth
# sends outside a transaction is one, and the counter is flushed when the backend exits.
# Usage: bench/startup.sh [BUILD_DIR] [SIZES...]   (default: build 10 100 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; shift || true
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(10 100 1000)
PLINTH=$PWD/$BUILD/runtime/plinth
PLUGINS=$PWD/$BUILD/bench/plugins
RUNS=${RUNS:-5}

source bench/server.sh

printf '%8s %14s %10s %10s %16s %18s\n' tables migrate_ms check_ms plan_ms noop_migrate_ms noop_round_trips
for n in "${SIZES[@]}"; do
    db="bench_$n"
    sql "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; sql "CREATE DATABASE $db" >/dev/null
    target=$(db_url "$db")
    export PLINTH_BENCH_TABLES=$n
    t0=$(now_ms); "$PLINTH" migrate --plugins "$PLUGINS" --database-url "$target" >/dev/null 2>&1; t1=$(now_ms)
    migrate=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
    check=$(median_ms "$PLINTH" check --plugins "$PLUGINS")
    plan=$(median_ms "$PLINTH" plan --plugins "$PLUGINS" --database-url "$target")
    noop=$(median_ms "$PLINTH" migrate --plugins "$PLUGINS" --database-url "$target")
    # Round trips of one no-op migrate: the commit counter's change, calibrated against psql
    # sending exactly one statement over its own connection (a backend's start-up counts too).
    sleep 1  # let the backends of the runs above finish exiting and flush their counters
    before=$(commits "$db"); "$PLINTH" migrate --plugins "$PLUGINS" --database-url "$target" >/dev/null 2>&1
    sleep 1; after=$(commits "$db")
    base_before=$(commits "$db"); psql -X -q "$target" -c 'SELECT 1' >/dev/null; sleep 1; base_after=$(commits "$db")
    trips=$(( (after - before) - (base_after - base_before) + 1 ))
    printf '%8s %14s %10s %10s %16s %18s\n' "$n" "$migrate" "$check" "$plan" "$noop" "$trips"
done
