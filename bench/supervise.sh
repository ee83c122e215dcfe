#!/usr/bin/env bash
# What supervision costs at start-up, and how long a crash takes to be handled: for the shipped
# plugins on an embedded server already running (a fresh database each run),
#   - ready_ms: from exec to the ready file, supervised (a worker forked after the migration) and
#     --no-supervise (the plugins in plinth's own process), median of RUNS;
#   - after_migration_ms: from the log line of the migration's commit to the ready line (the part
#     supervision changes: fork, the worker's connections, init and start), median of RUNS;
#   - the same with crash_init.so (tests/host/plugins/misbehaving) beside them: the worker dies in
#     init, the supervisor names it and forks a new one after its 500 ms back-off.
# Usage: bench/supervise.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PLINTH=$PWD/$BUILD/runtime/plinth
RUNS=${RUNS:-5}

source bench/server.sh
mkdir -p "$DATA/plain" "$DATA/crash"
cp "$BUILD"/plugins/*.so "$DATA/plain/"
cp "$BUILD"/plugins/*.so "$BUILD/tests/host/plugins/misbehaving/crash_init.so" "$DATA/crash/"

# Milliseconds from exec to the ready file of one `plinth run` with the given arguments.
ready_ms() {
    local n=$1; shift
    sql "DROP DATABASE IF EXISTS bench_sup_$n" >/dev/null 2>&1; sql "CREATE DATABASE bench_sup_$n" >/dev/null
    rm -f "$DATA/ready"
    local t0; t0=$(now_ms)
    "$PLINTH" run --database-url "${URL/\/plinth\?//bench_sup_$n?}" --ready-file "$DATA/ready" "$@" >"$DATA/log" 2>&1 &
    local pid=$!
    while [ ! -e "$DATA/ready" ]; do sleep 0.005; done
    local t1; t1=$(now_ms)
    kill -TERM "$pid"; wait "$pid" || true
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}'
    printf ' '
    python3 - "$DATA/log" <<'PY'
import datetime, sys
stamps = {}
for line in open(sys.argv[1]):
    for key, text in (("applied", "] applied "), ("ready", "plinth is ready")):
        if text in line and key not in stamps:
            stamps[key] = datetime.datetime.fromisoformat(line[1:line.index("]")])
print("%.1f" % ((stamps["ready"] - stamps["applied"]).total_seconds() * 1000), end="")
PY
}
# Medians of the two columns of RUNS runs.
measure() {
    local rows; rows=$(for i in $(seq "$RUNS"); do ready_ms "$i" "$@"; echo; done)
    local col
    for col in 1 2; do
        echo "$rows" | awk -v c="$col" '{print $c}' | sort -g | awk '{a[NR]=$1} END{printf "%10s ", a[int((NR+1)/2)]}'
    done
}
printf '%-28s %10s %10s\n' mode ready_ms after_migration_ms
printf '%-28s %s\n' supervised "$(measure --plugins "$DATA/plain")"
printf '%-28s %s\n' --no-supervise "$(measure --plugins "$DATA/plain" --no-supervise)"
printf '%-28s %s\n' "supervised, crash in init" "$(measure --plugins "$DATA/crash")"
