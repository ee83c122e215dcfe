#!/usr/bin/env bash
# The cost to the server of one transaction creating N tables like the bench plugin's (a primary
# key, a unique constraint, a check, an index, a foreign key to the table before), in three
# statement shapes, each script replayed with `psql -1 -X -q -f` into a fresh database, the shapes
# alternating for RUNS rounds:
#   inline  CREATE TABLE with every key and the foreign key inline, then CREATE INDEX
#           (plinth's shape before the seventh round of docs/BENCHMARKS.md);
#   split   CREATE TABLE with the check and the foreign key, then ALTER TABLE ... ADD CONSTRAINT for
#           the primary key and the unique constraint, then CREATE INDEX (plinth's shape now);
#   dump    pg_dump's: a bare CREATE TABLE with the check, the keys and the index after it, the
#           foreign keys last as ALTER TABLE ... ADD CONSTRAINT (each checks the table by a query).
# The server runs with fsync off (it is thrown away): what is measured is its CPU, where the lock
# bookkeeping is, not the disk's spread. Prints one line per run: shape, tables, seconds. Needs a
# built plinth (its embedded server).
# Usage: bench/statement_shapes.sh [BUILD_DIR] [TABLES...]   (default: build 2000 5000; RUNS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; shift || true
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(2000 5000)
RUNS=${RUNS:-2}
PLINTH=$PWD/$BUILD/runtime/plinth
[ -x "$PLINTH" ] || { echo "statement_shapes.sh: build $PLINTH first" >&2; exit 1; }
source bench/server.sh
sql "ALTER SYSTEM SET fsync = off" && sql "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 100); do [ "$(sql 'SHOW fsync')" = off ] && break; sleep 0.05; done
PG_BIN=${PG_BIN:-/usr/lib/postgresql/$(( $(sql 'SHOW server_version_num') / 10000 ))/bin}

# script SHAPE N: the SQL of N tables in that shape.
script() {
    local shape=$1 n=$2 i t cols fk
    echo 'CREATE SCHEMA b;'
    for ((i = 0; i < n; i++)); do
        t=t$i
        cols="\"id\" uuid DEFAULT (gen_random_uuid()) NOT NULL, \"code\" text NOT NULL, \"amount\" integer DEFAULT (0) NOT NULL, \"created_at\" timestamp with time zone DEFAULT (now()) NOT NULL"
        fk=
        if ((i > 0)); then
            cols+=", \"parent_id\" uuid"
            fk="CONSTRAINT \"${t}_parent_id_fkey\" FOREIGN KEY (\"parent_id\") REFERENCES \"b\".\"t$((i - 1))\" (\"id\")"
        fi
        local pk="CONSTRAINT \"${t}_pkey\" PRIMARY KEY (\"id\")" uq="CONSTRAINT \"${t}_code_key\" UNIQUE (\"code\")"
        local ck="CONSTRAINT \"${t}_amount_check\" CHECK (amount >= 0)"
        local idx="CREATE INDEX \"${t}_created_at_idx\" ON \"b\".\"$t\" USING btree (\"created_at\");"
        case $shape in
            inline) echo "CREATE TABLE \"b\".\"$t\" ($cols, $pk, $uq, $ck${fk:+, $fk});"; echo "$idx" ;;
            split)
                echo "CREATE TABLE \"b\".\"$t\" ($cols, $ck${fk:+, $fk});"
                echo "ALTER TABLE \"b\".\"$t\" ADD $pk;"; echo "ALTER TABLE \"b\".\"$t\" ADD $uq;"; echo "$idx" ;;
            dump)
                echo "CREATE TABLE \"b\".\"$t\" ($cols, $ck);"
                echo "ALTER TABLE \"b\".\"$t\" ADD $pk;"; echo "ALTER TABLE \"b\".\"$t\" ADD $uq;"; echo "$idx" ;;
        esac
    done
    if [ "$shape" = dump ]; then
        for ((i = 1; i < n; i++)); do
            echo "ALTER TABLE \"b\".\"t$i\" ADD CONSTRAINT \"t${i}_parent_id_fkey\" FOREIGN KEY (\"parent_id\") REFERENCES \"b\".\"t$((i - 1))\" (\"id\");"
        done
    fi
}

run=0
for n in "${SIZES[@]}"; do
    for shape in inline split dump; do script "$shape" "$n" > "$DATA/$shape-$n.sql"; done
    for _ in $(seq "$RUNS"); do
        for shape in inline split dump; do
            run=$((run + 1))
            sql "CREATE DATABASE s$run"
            t0=$(now_ms)
            "$PG_BIN/psql" -1 -X -q -v ON_ERROR_STOP=1 -f "$DATA/$shape-$n.sql" "$(db_url "s$run")" >/dev/null
            t1=$(now_ms)
            awk -v s="$shape" -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN{printf "%-6s %6d tables %8.2f s\n", s, n, (b-a)/1000}'
            sql "DROP DATABASE s$run"
        done
    done
done
