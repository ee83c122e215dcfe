#!/usr/bin/env bash
# No-op starts of several plinth binaries against `psql -X -c 'select 1'`, alternating in one run
# (A B ... psql, A B ... psql, ...), so that a change of a millisecond or two shows on a noisy
# machine: each binary's median over RUNS rounds and its ratio to psql's. One database of N bench
# tables (bench/plugins/many_tables.cpp) for each binary, migrated first by it, on a server of the
# run's own (fsync off); every start is a new process with a new backend.
# Usage: bench/noop_ab.sh BUILD_DIR TABLES RUNS PLINTH_BINARY[:PLUGINS_DIR]...
#   e.g. bench/noop_ab.sh build 5000 41 /tmp/plinth-before build/runtime/plinth
#        bench/noop_ab.sh build 5000 41 old/runtime/plinth:old/bench/plugins build/runtime/plinth
# The plugins are BUILD_DIR/bench/plugins unless given after the binary (a plugin built from another
# SDK, say); the server is BUILD_DIR's plinth's.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 4 ] || { echo "usage: bench/noop_ab.sh BUILD_DIR TABLES RUNS PLINTH_BINARY..." >&2; exit 2; }
BUILD=$1 TABLES=$2 RUNS=$3; shift 3
PLINTH=$PWD/$BUILD/runtime/plinth
LABELS=("$@") BINARIES=() PLUGIN_DIRS=()
for arg in "$@"; do
    BINARIES+=("${arg%%:*}")
    [[ $arg == *:* ]] && PLUGIN_DIRS+=("${arg#*:}") || PLUGIN_DIRS+=("$PWD/$BUILD/bench/plugins")
done
for f in "$PLINTH" "${BINARIES[@]}"; do
    [ -e "$f" ] || { echo "noop_ab.sh: $f is missing" >&2; exit 1; }
done
for d in "${PLUGIN_DIRS[@]}"; do
    [ -e "$d/many_tables.so" ] || { echo "noop_ab.sh: $d/many_tables.so is missing" >&2; exit 1; }
done
source bench/server.sh
PSQL=/usr/lib/postgresql/$(( $(sql 'SHOW server_version_num') / 10000 ))/bin/psql  # not Debian's wrapper
sql "ALTER SYSTEM SET fsync = off" && sql "SELECT pg_reload_conf()" >/dev/null
export PLINTH_BENCH_TABLES=$TABLES
DB_URLS=()
for i in "${!BINARIES[@]}"; do  # a database each: each binary's plugins key is its own
    sql "CREATE DATABASE noop_ab_$i"
    DB_URLS+=("$(db_url "noop_ab_$i")")
    "${BINARIES[$i]}" migrate --plugins "${PLUGIN_DIRS[$i]}" --database-url "${DB_URLS[$i]}" >/dev/null 2>&1
done

ms() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b-a)*1000}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
declare -A times
for _ in $(seq "$RUNS"); do
    for i in "${!BINARIES[@]}"; do
        t0=$EPOCHREALTIME
        "${BINARIES[$i]}" migrate --plugins "${PLUGIN_DIRS[$i]}" --database-url "${DB_URLS[$i]}" >/dev/null 2>&1 ||
            { echo "noop_ab.sh: ${BINARIES[$i]} failed" >&2; exit 1; }
        times[$i]+="$(ms "$t0" "$EPOCHREALTIME") "
    done
    t0=$EPOCHREALTIME
    "$PSQL" -X -q -c 'select 1' "${DB_URLS[0]}" >/dev/null
    times[psql]+="$(ms "$t0" "$EPOCHREALTIME") "
done
# shellcheck disable=SC2086
base=$(median ${times[psql]})
echo "$TABLES tables, medians of $RUNS alternating rounds; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-50s %9s %7s\n' binary ms ratio
printf '%-50s %9s %7s\n' "psql -c 'select 1'" "$base" ""
for i in "${!BINARIES[@]}"; do
    # shellcheck disable=SC2086
    m=$(median ${times[$i]})
    printf '%-50s %9s %7s\n' "${LABELS[$i]}" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN{printf "%.2fx", a/b}')"
done
