#!/usr/bin/env bash
# A cold start against its floor. For each size N, on plinth's embedded server:
#   - migrate: `plinth migrate` of the benchmark plugin (N tables) into an empty database, a whole
#     process from exec to exit, and the round trips it counted (its log);
#   - pg_dump floor: the schema that migration made, dumped by pg_dump (its statement shape: bare
#     CREATE TABLE, then ALTER TABLE ... ADD CONSTRAINT, CREATE INDEX), replayed into an empty
#     database with `psql -1 -f`;
#   - plinth script: `plinth plan --format sql` (plinth's statement shape, without the judgement,
#     the journal or the checks around them) replayed the same way.
# Each time is the median of RUNS runs, each into a fresh database, after a CHECKPOINT (so that no
# checkpoint the runs before it made due lands in one run and not another). The WAL each wrote (MB,
# its last run) is printed too. With PROFILE=1, the last run of each is recorded with
# `perf record -a` and the idle share of both cores and the server's busiest functions are printed:
# whether the server's time goes to its CPU or waits on the disk.
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

PROFILE=${PROFILE:-0}
lsn() { sql "SELECT pg_current_wal_lsn()"; }
wal_mb() { sql "SELECT round(pg_wal_lsn_diff('$2', '$1') / 1048576)"; }
# timed NAME RUN COMMAND...: runs it after a checkpoint; LAST_MS, LAST_WAL; perf data in $DATA/NAME.perf
timed() {
    local name=$1 run=$2; shift 2
    sql "CHECKPOINT" >/dev/null
    local a t0 t1
    a=$(lsn); t0=$(now_ms)
    if [ "$PROFILE" = 1 ] && [ "$run" = "$RUNS" ]; then
        perf record -q -a -F 499 -o "$DATA/$name.perf" -- "$@" >"$DATA/$name.log" 2>&1
    else
        "$@" >"$DATA/$name.log" 2>&1
    fi
    t1=$(now_ms); LAST_MS=$(elapsed "$t0" "$t1"); LAST_WAL=$(wal_mb "$a" "$(lsn)")
}
profile() {  # NAME: idle share of both cores, then the server's top functions
    [ "$PROFILE" = 1 ] || return 0
    local shares
    shares=$(perf report -i "$DATA/$1.perf" --sort comm 2>/dev/null)
    echo "  $1: samples idle $(awk '$2 == "swapper" {print $1}' <<<"$shares"), postgres $(awk '$2 == "postgres" {print $1}' <<<"$shares"); the server's top functions:"
    perf report -i "$DATA/$1.perf" --comm postgres --sort sym 2>/dev/null | grep -E '^ +[0-9]' | head -8 | sed 's/^/    /' || true
}

printf '%8s %12s %12s %14s %14s %13s %12s %22s\n' tables migrate_ms pg_dump_ms plinth_sql_ms migrate/floor statements round_trips "WAL_MB(mig/dump/sql)"
for n in "${SIZES[@]}"; do
    export PLINTH_BENCH_TABLES=$n
    migrate=() dump=() script=()
    for run in $(seq "$RUNS"); do
        target=$(fresh cold_migrate)
        timed migrate "$run" "$PLINTH" migrate --plugins "$PLUGINS" --database-url "$target"
        migrate+=("$LAST_MS"); wal_migrate=$LAST_WAL
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
        timed dump "$run" psql -X -q -1 -v ON_ERROR_STOP=1 -f "$DATA/dump.sql" "$target"
        dump+=("$LAST_MS"); wal_dump=$LAST_WAL
        target=$(fresh cold_script)
        timed script "$run" psql -X -q -1 -v ON_ERROR_STOP=1 -f "$DATA/plan.sql" "$target"
        script+=("$LAST_MS"); wal_script=$LAST_WAL
    done
    m=$(median "${migrate[@]}"); d=$(median "${dump[@]}"); s=$(median "${script[@]}")
    printf '%8s %12s %12s %14s %14s %13s %12s %22s\n' "$n" "$m" "$d" "$s" \
        "$(awk -v a="$m" -v b="$d" 'BEGIN{printf "%.2f", a/b}')" "$statements" "$trips" "$wal_migrate/$wal_dump/$wal_script"
    for name in migrate dump script; do profile "$name"; done
done
