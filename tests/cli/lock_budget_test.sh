#!/usr/bin/env bash
# The lock budget, on plinth's own embedded server:
#  - a new embedded cluster has room in its lock table for large schemas;
#  - on a server with little room, a migration that would run out of lock-table entries is refused
#    before its first statement, naming the setting and a value, and the database is unchanged;
#  - with the setting raised to exactly the value the refusal named, the same migration succeeds.
# Usage: lock_budget_test.sh PLINTH_EXE BENCH_PLUGINS_DIR
set -uo pipefail
plinth=$1
plugins=$2
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

dir=$(mktemp -d /tmp/plinth-lock-budget.XXXXXX)
chmod 755 "$dir"  # the server runs as an unprivileged user that must reach its data folder
trap '"$plinth" db stop --data-dir "$dir/db" >/dev/null 2>&1; rm -rf "$dir"' EXIT
"$plinth" db start --data-dir "$dir/db" >/dev/null 2>&1 || { echo "FAIL: plinth db start"; exit 1; }
url=$("$plinth" db url --data-dir "$dir/db")
sql() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$url" -c "$1"; }
restart() {
    "$plinth" db stop --data-dir "$dir/db" >/dev/null 2>&1
    "$plinth" db start --data-dir "$dir/db" >/dev/null 2>&1 || fail "plinth db start after $1"
}

locks=$(sql "SHOW max_locks_per_transaction")
[ "$locks" = 1024 ] || fail "a new embedded cluster has max_locks_per_transaction $locks, expected 1024"

# 10 × (40 + 0) = 400 entries; 150 tables of the benchmark plugin need about a thousand.
sql "ALTER SYSTEM SET max_locks_per_transaction = 10" && sql "ALTER SYSTEM SET max_connections = 40"
restart "lowering the lock table"
export PLINTH_BENCH_TABLES=150
out=$("$plinth" migrate --plugins "$plugins" --database-url "$url" 2>&1)
status=$?
[ $status -eq 1 ] || fail "migrate on a small lock table exited $status, expected 1"
case $out in
*"Raise max_locks_per_transaction to at least "*) ;;
*) fail "the refusal does not name the setting to raise:"$'\n'"$out" ;;
esac
case $out in
*"out of shared memory"*) fail "migrate ran out of shared memory instead of refusing first" ;;
esac
tables=$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'bench'")
[ "$tables" = 0 ] || fail "the refused migration left $tables tables in schema bench"

value=$(sed -n 's/.*Raise max_locks_per_transaction to at least \([0-9]*\).*/\1/p' <<<"$out" | head -1)
if [ -n "$value" ]; then
    sql "ALTER SYSTEM SET max_locks_per_transaction = $value"
    restart "raising the lock table to $value"
    out=$("$plinth" migrate --plugins "$plugins" --database-url "$url" 2>&1) ||
        fail "migrate with max_locks_per_transaction = $value (the refusal's value) failed:"$'\n'"$out"
    tables=$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'bench'")
    [ "$tables" = 150 ] || fail "after migrating with room, schema bench has $tables tables, expected 150"
fi

[ $failures -eq 0 ] && echo "lock budget: all checks passed"
exit $((failures > 0))
