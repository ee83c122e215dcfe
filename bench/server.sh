# Sourced by the start-up benchmarks (startup.sh, noop_start.sh, noop_ab.sh, cold_start.sh,
# cold_pairs.sh, supervise.sh, statement_shapes.sh): an embedded server of their own in a temporary
# folder (under TMPDIR, default /tmp), stopped and the folder removed on exit, and the helpers they
# share. Needs PLINTH; median_ms needs RUNS.
DATA=$(mktemp -d "${TMPDIR:-/tmp}/plinth-bench.XXXXXX")
chmod 755 "$DATA"  # the server runs as an unprivileged user that must reach its data folder
trap '"$PLINTH" db stop --data-dir "$DATA/db" >/dev/null 2>&1 || true; rm -rf "$DATA"' EXIT
"$PLINTH" db start --data-dir "$DATA/db" >/dev/null 2>&1
URL=$("$PLINTH" db url --data-dir "$DATA/db")
sql() { psql -X -q -t -A "$URL" -c "$1"; }
db_url() { echo "${URL/\/plinth\?//$1?}"; }

now_ms() { date +%s%N | awk '{printf "%.1f", $1/1000000}'; }
# Median of RUNS timings of a command, in ms.
median_ms() {
    local times=()
    for _ in $(seq "$RUNS"); do
        local t0; t0=$(now_ms); "$@" >/dev/null 2>&1; local t1; t1=$(now_ms)
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')")
    done
    printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'
}
# Committed transactions of database $1: each statement sent outside a transaction is one round trip.
commits() { sql "SELECT pg_stat_clear_snapshot(); SELECT xact_commit FROM pg_stat_database WHERE datname = '$1'" | tail -1; }
