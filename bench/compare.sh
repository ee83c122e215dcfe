#!/usr/bin/env bash
# plinth against what the same work costs without it, in one run, runs alternating (A B A B ...):
#   - cold: `plinth migrate` into a fresh database, against the floor: the schema plinth created
#     (pg_dump --schema-only, plinth's journal schema left out) restored with `psql -1 -X -q -f`
#     into a fresh database;
#   - no-op: `plinth migrate` on an up-to-date database, against `psql -X -c 'select 1'`;
# both directly (the server's unix socket) and through bench/delay_proxy (TCP on 127.0.0.1,
# DELAY_MS per direction, so one round trip costs 2*DELAY_MS more); then `check` and `plan`, and
# `plan` alone at PLAN_TABLES tables (time and peak RSS). Round trips are the request bursts the
# proxy sees: client data that follows server data. Prints a table with the targets of issue 13
# and whether they hold, and the load average at start and end. Exits 0 whatever the targets say.
# Usage: bench/compare.sh [BUILD_DIR] [SIZES...]   (default: build 20 800 5000)
# A slow-path command sends a few statements per table, each a round trip at this commit: through
# the proxy, 5000 tables take many minutes; lower COLD_RUNS or the sizes for a quick look.
# Environment: RUNS (no-op, check, plan; default 7), COLD_RUNS (cold pairs; default 3),
#   DELAY_MS (default 1), PLAN_TABLES (default 10000; 0 skips it), FSYNC (default on; off sets the
#   server's fsync off for the whole run: a cold start's time is then the server's CPU and the
#   round trips, without the disk's run-to-run spread, which on a shared VM hides a 100 ms
#   difference; never for a server whose data matters), AUTOVACUUM (default on; off turns the
#   server's autovacuum off for the whole run: after each size's cold runs, up to 4*COLD_RUNS
#   databases of N tables, autovacuum vacuums and analyzes each one's catalogs, about 6 s of a core
#   per database of 5000 tables, during the measurements that follow; a no-op start, two processes
#   on two cores, loses more of its time to a busy core than psql; see docs/BENCHMARKS.md, eleventh
#   round), TMPDIR (where the server's folder goes;
#   default /tmp: TMPDIR=/dev/shm puts it on tmpfs, where creating a table's files does not scan
#   past the inodes of files deleted in the last minutes, as ext4 without a journal does; see
#   docs/BENCHMARKS.md, tenth round).
# No database is dropped before the end (see cold_db): at 5000 tables with COLD_RUNS=3 the server's
# folder grows to about 3 GB, removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; shift || true
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(20 800 5000)
RUNS=${RUNS:-7}
COLD_RUNS=${COLD_RUNS:-3}
DELAY_MS=${DELAY_MS:-1}
PLAN_TABLES=${PLAN_TABLES:-10000}
PLINTH=$PWD/$BUILD/runtime/plinth
PLUGINS=$PWD/$BUILD/bench/plugins
PROXY=$PWD/$BUILD/bench/delay_proxy

for f in "$PLINTH" "$PLUGINS/many_tables.so" "$PROXY"; do
    if [ ! -x "$f" ] && [ ! -f "$f" ]; then
        echo "compare.sh: $f is missing; build it first:" >&2
        echo "  meson setup $BUILD && ninja -C $BUILD runtime/plinth bench/plugins/many_tables.so bench/delay_proxy" >&2
        exit 1
    fi
done
for tool in psql pg_dump /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing (apt-get install postgresql-client time)" >&2; exit 1; }
done

T_START=$EPOCHREALTIME
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATA=$(mktemp -d "${TMPDIR:-/tmp}/plinth-compare.XXXXXX")
chmod 755 "$DATA"  # the server runs as an unprivileged user that must reach its data folder
PROXY_PID=
cleanup() {
    if [ -n "$PROXY_PID" ]; then kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; fi
    "$PLINTH" db stop --data-dir "$DATA/db" >/dev/null 2>&1 || true
    rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$PLINTH" db start --data-dir "$DATA/db" >/dev/null 2>&1
URL=$("$PLINTH" db url --data-dir "$DATA/db")
# The server's own client binaries: Debian's /usr/bin/psql is a Perl wrapper that would add its own
# start-up to every baseline run.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/$(( $(psql -X -q -t -A "$URL" -c 'SHOW server_version_num') / 10000 ))/bin}
PSQL=$PG_BIN/psql
[ -x "$PSQL" ] && [ -x "$PG_BIN/pg_dump" ] ||
    { echo "compare.sh: no psql and pg_dump in $PG_BIN; set PG_BIN to the server's client binaries" >&2; exit 1; }
sql() { "$PSQL" -X -q -t -A -v ON_ERROR_STOP=1 "$URL" -c "$1"; }
# Turns the server setting $1 off for the whole run, once the reload has taken effect.
setting_off() {
    sql "ALTER SYSTEM SET $1 = off" && sql "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 100); do [ "$(sql "SHOW $1")" = off ] && break; sleep 0.05; done
}
FSYNC=${FSYNC:-on}
[ "$FSYNC" != off ] || setting_off fsync
AUTOVACUUM=${AUTOVACUUM:-on}
[ "$AUTOVACUUM" != off ] || setting_off autovacuum
SOCKET_DIR=$(sql 'SHOW unix_socket_directories' | tr -d '"')  # plinth quotes it
SOCKET_PORT=$(sql 'SHOW port')
USER_NAME=$(sql 'SELECT current_user')
direct_url() { echo "${URL/\/plinth\?//$1?}"; }

"$PROXY" --upstream "unix:$SOCKET_DIR/.s.PGSQL.$SOCKET_PORT" --delay-ms "$DELAY_MS" \
    --port-file "$DATA/proxy.port" --stats "$DATA/proxy.stats" 2>"$DATA/proxy.err" &
PROXY_PID=$!
for _ in $(seq 200); do [ -s "$DATA/proxy.port" ] && break; sleep 0.01; done
[ -s "$DATA/proxy.port" ] || { echo "compare.sh: the delay proxy did not start: $(cat "$DATA/proxy.err")" >&2; exit 1; }
PROXY_PORT=$(cat "$DATA/proxy.port")
# No TLS or GSS negotiation through the proxy: they would add a round trip to every connection.
proxy_url() { echo "postgresql://$USER_NAME@127.0.0.1:$PROXY_PORT/$1?sslmode=disable&gssencmode=disable"; }
"$PSQL" -X -q -c 'select 1' "$(proxy_url postgres)" >/dev/null 2>&1 ||
    { echo "compare.sh: no connection through the delay proxy: $(cat "$DATA/proxy.err")" >&2; exit 1; }

# The proxy's counters once every connection through it has ended.
proxy_stat() {
    local key=$1 line
    for _ in $(seq 2000); do
        line=$(cat "$DATA/proxy.stats")
        [[ $line == *" open=0 "* ]] && break
        sleep 0.002
    done
    sed -n "s/.*\b$key=\([0-9]*\).*/\1/p" <<<"$line"
}

LAST_MS=
# Runs a command, sets LAST_MS to its wall time in ms; fails the script with its output if it fails.
timed() {
    local t0=$EPOCHREALTIME
    if ! "$@" >"$DATA/out" 2>&1; then
        echo "compare.sh: failed: $*" >&2; tail -n 20 "$DATA/out" >&2; exit 1
    fi
    local t1=$EPOCHREALTIME
    LAST_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b-a)*1000}')
}
LAST_TURNS=
# Like timed, and sets LAST_TURNS to the round trips the proxy saw during the command.
timed_turns() {
    local before; before=$(proxy_stat turns)
    timed "$@"
    LAST_TURNS=$(( $(proxy_stat turns) - before ))
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

migrate() { "$PLINTH" migrate --plugins "$PLUGINS" --database-url "$1"; }
restore() { "$PSQL" -X -q -1 -v ON_ERROR_STOP=1 -f "$DUMP" "$1"; }
select1() { "$PSQL" -X -q -c 'select 1' "$1"; }
fresh_db() { sql "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1; sql "CREATE DATABASE $1" >/dev/null; }
# A database of its own for each cold run, none dropped until the end: dropping thousands of tables
# frees thousands of files, and ext4 then skips their inodes for minutes whenever new files are
# made (recently_deleted), which slowed the cold starts after each drop by up to four times
# (docs/BENCHMARKS.md, seventh round). Sets COLD_DB.
COLD_COUNT=0
cold_db() { COLD_DB=cold_$((COLD_COUNT++)); sql "CREATE DATABASE $COLD_DB" >/dev/null; }

TARGETS=()
# One line of the table, printed at once so a run cut short still shows what it measured.
row() { printf '%7s  %-22s %10s %10s %7s %13s  %-24s %s\n' "$@"; }
V=
# verdict CONDITION TEXT: sets V to pass or FAIL (CONDITION is awk) and keeps the line for the summary.
verdict() {
    V=$(awk "BEGIN{print ($1) ? \"pass\" : \"FAIL\"}")
    TARGETS+=("$V  $2")
}

echo "compare.sh: sizes ${SIZES[*]}, plan alone at ${PLAN_TABLES}; RUNS=$RUNS COLD_RUNS=$COLD_RUNS DELAY_MS=$DELAY_MS fsync $(sql 'SHOW fsync') autovacuum $(sql 'SHOW autovacuum'); load average $LOAD_START" >&2
row tables measurement plinth_ms base_ms ratio round_trips target result
for n in "${SIZES[@]}"; do
    export PLINTH_BENCH_TABLES=$n
    echo "compare.sh: $n tables ($(date -u +%H:%M:%S))" >&2
    ref=cmp_ref_$n
    fresh_db "$ref"
    timed migrate "$(direct_url "$ref")"
    DUMP=$DATA/floor_$n.sql
    # The DDL epoch's event triggers are database-wide, not in the excluded schema: left out too.
    "$PG_BIN/pg_dump" --schema-only --no-owner --no-privileges --exclude-schema=plinth "$(direct_url "$ref")" |
        awk '/^CREATE EVENT TRIGGER /{skip = 1} skip {if (/;$/) skip = 0; next} /^ALTER EVENT TRIGGER /{next} {print}' >"$DUMP"

    # Cold, A B A B: plinth then the floor, each into a fresh database, directly then through the proxy.
    declare -a cold_p=() cold_f=() pcold_p=() pcold_f=()
    cold_p_turns=; cold_f_turns=
    for i in $(seq "$COLD_RUNS"); do
        cold_db; timed migrate "$(direct_url "$COLD_DB")"; cold_p+=("$LAST_MS")
        cold_db; timed restore "$(direct_url "$COLD_DB")"; cold_f+=("$LAST_MS")
        cold_db; timed_turns migrate "$(proxy_url "$COLD_DB")"; pcold_p+=("$LAST_MS"); cold_p_turns=$LAST_TURNS
        cold_db; timed_turns restore "$(proxy_url "$COLD_DB")"; pcold_f+=("$LAST_MS"); cold_f_turns=$LAST_TURNS
    done

    # No-op, A B A B: plinth on the up-to-date database, psql's select 1, directly and through the proxy.
    declare -a noop_p=() noop_s=() pnoop_p=() pnoop_s=()
    for i in $(seq "$RUNS"); do
        timed migrate "$(direct_url "$ref")"; noop_p+=("$LAST_MS")
        timed select1 "$(direct_url "$ref")"; noop_s+=("$LAST_MS")
        timed_turns migrate "$(proxy_url "$ref")"; pnoop_p+=("$LAST_MS"); noop_p_turns=$LAST_TURNS
        timed_turns select1 "$(proxy_url "$ref")"; pnoop_s+=("$LAST_MS"); noop_s_turns=$LAST_TURNS
    done

    declare -a check=() plan=()
    for i in $(seq "$RUNS"); do
        timed "$PLINTH" check --plugins "$PLUGINS"; check+=("$LAST_MS")
        timed "$PLINTH" plan --plugins "$PLUGINS" --database-url "$(direct_url "$ref")"; plan+=("$LAST_MS")
    done
    # Once through the proxy, for its round trips (a slow path's plan sends many statements).
    timed_turns "$PLINTH" plan --plugins "$PLUGINS" --database-url "$(proxy_url "$ref")"
    pplan=$LAST_MS; plan_turns=$LAST_TURNS

    a=$(median "${cold_p[@]}"); b=$(median "${cold_f[@]}"); r=$(ratio "$a" "$b")
    V=-; [ "$n" -lt 800 ] || verdict "$r <= 1.15" "cold <= 1.15x the floor at $n tables (${r}x)"
    row "$n" "cold" "$a" "$b" "$r" "" "<= 1.15x at >= 800" "$V"
    pa=$(median "${pcold_p[@]}"); pb=$(median "${pcold_f[@]}")
    extra=$(awk -v p="$pa" -v d="$a" 'BEGIN{printf "%.0f", p-d}')
    # The issue's target is at 800 tables; at other sizes the difference is shown, not judged.
    V=-; [ "$n" -ne 800 ] || verdict "$extra <= 100" "cold through the proxy <= direct + 100 ms at $n tables (+$extra ms)"
    row "$n" "cold, proxy ${DELAY_MS} ms" "$pa" "$pb" "$(ratio "$pa" "$pb")" "$cold_p_turns / $cold_f_turns" "<= direct+100 at 800 (+$extra)" "$V"
    a=$(median "${noop_p[@]}"); b=$(median "${noop_s[@]}"); r=$(ratio "$a" "$b")
    V=-; [ "$n" -lt 1000 ] || verdict "$r <= 1.5" "no-op <= 1.5x psql select 1 at $n tables (${r}x)"
    row "$n" "no-op" "$a" "$b" "$r" "" "<= 1.5x at >= 1000" "$V"
    pa=$(median "${pnoop_p[@]}"); pb=$(median "${pnoop_s[@]}")
    row "$n" "no-op, proxy ${DELAY_MS} ms" "$pa" "$pb" "$(ratio "$pa" "$pb")" "$noop_p_turns / $noop_s_turns" "" ""
    row "$n" "check" "$(median "${check[@]}")" "" "" "" "" ""
    row "$n" "plan" "$(median "${plan[@]}")" "" "" "" "" ""
    row "$n" "plan, proxy ${DELAY_MS} ms" "$pplan" "" "" "$plan_turns" "" ""
done

if [ "$PLAN_TABLES" -gt 0 ]; then
    export PLINTH_BENCH_TABLES=$PLAN_TABLES
    echo "compare.sh: plan at $PLAN_TABLES tables ($(date -u +%H:%M:%S))" >&2
    fresh_db cmp_plan
    timed migrate "$(direct_url cmp_plan)"
    declare -a big=() rss=()
    for i in $(seq 3); do
        timed /usr/bin/time -f '%M' -o "$DATA/rss" "$PLINTH" plan --plugins "$PLUGINS" --database-url "$(direct_url cmp_plan)"
        big+=("$LAST_MS"); rss+=("$(tail -n 1 "$DATA/rss")")
    done
    sql "DROP DATABASE cmp_plan" >/dev/null
    a=$(median "${big[@]}"); mb=$(awk -v k="$(median "${rss[@]}")" 'BEGIN{printf "%.0f", k/1024}')
    verdict "$a < 1000 && $mb < 200" "plan at $PLAN_TABLES tables < 1 s and < 200 MB ($a ms, $mb MB)"
    row "$PLAN_TABLES" "plan (peak RSS $mb MB)" "$a" "" "" "" "< 1000 ms, < 200 MB" "$V"
fi

echo
echo "baselines: cold = pg_dump of plinth's schema restored by psql -1 -f; no-op = psql -c 'select 1'."
echo "server fsync: $(sql 'SHOW fsync'); its folder: $DATA ($(df --output=fstype "$DATA" | tail -n 1))"
echo "medians of $COLD_RUNS (cold) and $RUNS (no-op, check, plan) alternating runs; plan through the proxy: one run."
echo "round trips: plinth / baseline, request bursts seen by the proxy (a connection's start-up and its Terminate count one each)."
echo "targets:"
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("(none at these sizes)")
printf '  %s\n' "${TARGETS[@]}"
echo "load average at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "whole run: $(awk -v a="$T_START" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}') s"
