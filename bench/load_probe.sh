#!/usr/bin/env bash
# What the load probe (every plugin file loaded first in a forked child) adds to loading: the median
# of RUNS runs of `plinth check` on the benchmark plugin (N tables, one file) with the probe and with
# --no-load-probe, the two interleaved run by run so that machine noise hits both alike.
# Usage: bench/load_probe.sh [BUILD_DIR] [SIZES...]   (default: build 100 1000 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; shift || true
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(100 1000 5000)
PLINTH=$PWD/$BUILD/runtime/plinth
PLUGINS=$PWD/$BUILD/bench/plugins
RUNS=${RUNS:-21}

now_ns() { date +%s%N; }
median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

printf '%8s %14s %16s %12s\n' tables probe_ms no_probe_ms added_ms
for n in "${SIZES[@]}"; do
    export PLINTH_BENCH_TABLES=$n
    with=(); without=()
    for _ in $(seq "$RUNS"); do
        t0=$(now_ns); "$PLINTH" check --plugins "$PLUGINS" >/dev/null; t1=$(now_ns)
        "$PLINTH" check --no-load-probe --plugins "$PLUGINS" >/dev/null; t2=$(now_ns)
        with+=("$(( (t1 - t0) / 1000 ))"); without+=("$(( (t2 - t1) / 1000 ))")
    done
    a=$(printf '%s\n' "${with[@]}" | median); b=$(printf '%s\n' "${without[@]}" | median)
    awk -v n="$n" -v a="$a" -v b="$b" 'BEGIN{printf "%8s %14.1f %16.1f %12.1f\n", n, a/1000, b/1000, (a-b)/1000}'
done
