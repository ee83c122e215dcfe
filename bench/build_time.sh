#!/usr/bin/env bash
# Where the time of a clean `./dev.sh test` goes: configure, build (and, per kind of target, the
# compile seconds summed from ninja's log), then the test run, each timed on its own.
# Usage: bench/build_time.sh [BUILD_DIR] [-- extra meson setup options]
#   default BUILD_DIR: a fresh folder under /tmp, removed afterwards.
# Compare the totals of two runs made one after the other on the same machine; the machine is
# noisy, and the per-kind seconds add up both cores' work.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-$(mktemp -d /tmp/plinth-build-time.XXXXXX)}
shift || true
[ "${1:-}" = "--" ] && shift
rm -rf "$BUILD"
cleanup() { rm -rf "$BUILD"; }
[ -z "${KEEP_BUILD:-}" ] && trap cleanup EXIT

now() { date +%s.%N; }
t0=$(now)
meson setup "$BUILD" "$@" >/dev/null
t1=$(now)
ninja -C "$BUILD" -j "${PLINTH_JOBS:-2}" >/dev/null
t2=$(now)
status=0
meson test -C "$BUILD" --num-processes "${PLINTH_TEST_PROCESSES:-2}" >/dev/null || status=$?
t3=$(now)

awk -F'\t' 'NR > 1 {
    t = ($2 - $1) / 1000; f = $4; kind = "other"
    if (f ~ /^runtime\//) kind = "runtime libraries and plinth"
    else if (f ~ /^tests\/broken\//) kind = "broken test plugins"
    else if (f ~ /^tests\/(host|migrate)\/plugins\//) kind = "other test plugins"
    else if (f ~ /^tests\//) kind = "test programs"
    else if (f ~ /^(plugins|bench)\//) kind = "shipped and bench plugins"
    sum[kind] += t; n[kind]++
} END { for (k in sum) printf "%7.1f s compiling and linking %s (%d steps)\n", sum[k], k, n[k] }' "$BUILD/.ninja_log" | sort -rn
awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v ok="$( [ $status -eq 0 ] && echo passed || echo FAILED)" 'BEGIN {
    printf "configure %.1f s, build %.1f s, tests %.1f s, total %.1f s (tests %s)\n", t1 - t0, t2 - t1, t3 - t2, t3 - t0, ok
}'
