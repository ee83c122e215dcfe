#!/usr/bin/env bash
# Cold starts one at a time, to see their spread and where it comes from. RUNS rounds of, in this
# order: `plinth migrate` directly, the floor directly (compare.sh's: pg_dump of the schema plinth
# made, restored by `psql -1 -f`), and `plinth migrate` through bench/delay_proxy (DELAY_MS per
# direction), each into a database of its own. Each line gives the wall time and the server's CPU
# time for that run (its reaped backends: the postmaster's children's time, read once they have
# ended); for plinth, the judgement's and the transaction's times and the round trips on its main
# connection (from its log); through the proxy, the proxy's own CPU time.
# Usage: bench/cold_pairs.sh [BUILD_DIR] [TABLES]   (default: build 800)
# Environment: RUNS (default 6), DELAY_MS (default 1), FSYNC (default off, as compare.sh's), TMPDIR
# (where the server's folder goes: /dev/shm for tmpfs; see docs/BENCHMARKS.md, tenth round).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
TABLES=${2:-800}
RUNS=${RUNS:-6}
DELAY_MS=${DELAY_MS:-1}
PLINTH=$PWD/$BUILD/runtime/plinth
PLUGINS=$PWD/$BUILD/bench/plugins
PROXY=$PWD/$BUILD/bench/delay_proxy
PROXY_PID=

source bench/server.sh
trap '[ -z "$PROXY_PID" ] || kill "$PROXY_PID" 2>/dev/null || true; "$PLINTH" db stop --data-dir "$DATA/db" >/dev/null 2>&1 || true; rm -rf "$DATA"' EXIT
PG_BIN=/usr/lib/postgresql/$(( $(sql 'SHOW server_version_num') / 10000 ))/bin
if [ "${FSYNC:-off}" = off ]; then
    sql "ALTER SYSTEM SET fsync = off" >/dev/null && sql "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 100); do [ "$(sql 'SHOW fsync')" = off ] && break; sleep 0.05; done
fi
SOCKET_DIR=$(sql 'SHOW unix_socket_directories' | tr -d '"')
"$PROXY" --upstream "unix:$SOCKET_DIR/.s.PGSQL.$(sql 'SHOW port')" --delay-ms "$DELAY_MS" \
    --port-file "$DATA/proxy.port" 2>"$DATA/proxy.err" &
PROXY_PID=$!
for _ in $(seq 200); do [ -s "$DATA/proxy.port" ] && break; sleep 0.01; done
proxy_url() { echo "postgresql://$(sql 'SELECT current_user')@127.0.0.1:$(cat "$DATA/proxy.port")/$1?sslmode=disable&gssencmode=disable"; }
POSTMASTER=$(head -n 1 "$(find "$DATA/db" -name postmaster.pid | head -n 1)")
export PLINTH_BENCH_TABLES=$TABLES

# CPU time in ms of a process's reaped children (with children=1) or of itself.
cpu_ms() { awk -v c="$2" '{print (c ? $16 + $17 : $14 + $15) * 10}' "/proc/$1/stat"; }
# Waits until no other client backend is left, so that their time is in the postmaster's.
settle() {
    for _ in $(seq 200); do
        [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")" = 0 ] && break
        sleep 0.01
    done
    sleep 0.1
}

sql "CREATE DATABASE cold_ref" >/dev/null
"$PLINTH" migrate --plugins "$PLUGINS" --database-url "$(db_url cold_ref)" >/dev/null 2>&1
# The DDL epoch's event triggers are database-wide, not in the excluded schema: left out too.
"$PG_BIN/pg_dump" --schema-only --no-owner --no-privileges --exclude-schema=plinth "$(db_url cold_ref)" |
    awk '/^CREATE EVENT TRIGGER /{skip = 1} skip {if (/;$/) skip = 0; next} /^ALTER EVENT TRIGGER /{next} {print}' >"$DATA/floor.sql"

echo "cold starts at $TABLES tables; server folder on $(df --output=fstype "$DATA" | tail -n 1), fsync $(sql 'SHOW fsync'), proxy $DELAY_MS ms per direction"
printf '%-13s %8s %12s %10s %10s %6s %12s\n' run wall_ms server_cpu_ms judge_ms tx_ms trips proxy_cpu_ms
count=0
for round in $(seq "$RUNS"); do
    for what in plinth floor plinth_proxy; do
        db=cold_$((count++))
        sql "CREATE DATABASE $db" >/dev/null
        settle
        url=$(db_url "$db")
        [ "$what" = plinth_proxy ] && url=$(proxy_url "$db")
        server0=$(cpu_ms "$POSTMASTER" 1); proxy0=$(cpu_ms "$PROXY_PID" 0); t0=$EPOCHREALTIME
        if [ "$what" = floor ]; then
            "$PG_BIN/psql" -X -q -1 -v ON_ERROR_STOP=1 -f "$DATA/floor.sql" "$url" >"$DATA/log" 2>&1
        else
            "$PLINTH" migrate --plugins "$PLUGINS" --database-url "$url" >"$DATA/log" 2>&1
        fi
        t1=$EPOCHREALTIME
        settle
        server1=$(cpu_ms "$POSTMASTER" 1); proxy1=$(cpu_ms "$PROXY_PID" 0)
        judge=$(sed -n 's/.*judged the declared SQL on a second connection in \([0-9.]*\) ms.*/\1/p' "$DATA/log")
        tx=$(sed -n 's/.*statements in one transaction (\([0-9.]*\) ms).*/\1/p' "$DATA/log")
        trips=$(sed -n 's/.*migration done in \([0-9]*\) round trips.*/\1/p' "$DATA/log")
        proxy_cpu=-; [ "$what" = plinth_proxy ] && proxy_cpu=$((proxy1 - proxy0))
        printf '%-13s %8.0f %12d %10s %10s %6s %12s\n' "$round $what" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print (b-a)*1000}')" \
            $((server1 - server0)) "${judge:--}" "${tx:--}" "${trips:--}" "$proxy_cpu"
    done
done
