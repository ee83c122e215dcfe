#!/usr/bin/env bash
# Loading, validating and ordering, without a database, in two shapes:
#   - one plugin of 5,000 tables (bench/plugins/many_tables.so, PLINTH_BENCH_TABLES=5000);
#   - 200 plugins of 4 tables each (copies of it named p000.so ... p199.so: a copy names its plugin
#     and schema after its file).
# For each shape, medians of RUNS runs (process CPU time, user + system, in ms):
#   - load, validate, order and free: the stages timed apart by build/bench/stages/load_stages;
#   - check: `plinth check` less `plinth --version` (load, validate, order, the printed report and
#     the exit, less the process start).
# Usage: bench/load_stages.sh [BUILD_DIR]   (default: build; RUNS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$(cd "${1:-build}" && pwd)
PLINTH=$BUILD/runtime/plinth
STAGES=$BUILD/bench/stages/load_stages
RUNS=${RUNS:-5}

DATA=$(mktemp -d /tmp/plinth-stages.XXXXXX)
trap 'rm -rf "$DATA"' EXIT
mkdir "$DATA/one" "$DATA/many"
cp "$BUILD/bench/plugins/many_tables.so" "$DATA/one/"
for i in $(seq -w 0 199); do cp "$BUILD/bench/plugins/many_tables.so" "$DATA/many/p$i.so"; done

median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
# The user + system CPU time of a command, in ms.
cpu_ms() {
    local TIMEFORMAT='%3U %3S' t
    t=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
    awk -v t="$t" 'BEGIN{split(t, a, " "); printf "%.1f", (a[1] + a[2]) * 1000}'
}

printf '%-22s %8s %10s %8s %8s %10s %10s\n' shape load_ms validate_ms order_ms free_ms stages_ms check_ms
for shape in "one 5000" "many 4"; do
    read -r folder tables <<<"$shape"
    export PLINTH_BENCH_TABLES=$tables
    rows=() checks=() versions=()
    for _ in $(seq "$RUNS"); do
        rows+=("$("$STAGES" "$DATA/$folder")")
        checks+=("$(cpu_ms "$PLINTH" check --plugins "$DATA/$folder")")
        versions+=("$(cpu_ms "$PLINTH" --version)")
    done
    column_median() { printf '%s\n' "${rows[@]}" | awk -v c="$1" '{print $c}' | median; }
    load=$(column_median 1); validate=$(column_median 2); order=$(column_median 3); free=$(column_median 4)
    plugins=$(column_median 5); count=$(column_median 6)
    stages=$(printf '%s\n' "${rows[@]}" | awk '{print $1 + $2 + $3}' | median)
    check=$(printf '%s\n' "${checks[@]}" | median); version=$(printf '%s\n' "${versions[@]}" | median)
    printf '%-22s %8s %10s %8s %8s %10s %10s\n' "$plugins plugins, $count tables" "$load" "$validate" "$order" "$free" \
        "$stages" "$(awk -v a="$check" -v b="$version" 'BEGIN{printf "%.1f", a - b}')"
done
