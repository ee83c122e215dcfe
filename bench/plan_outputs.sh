#!/usr/bin/env bash
# Writes what `plan` (text and JSON) and `status` print in a fixed series of database states, for
# comparing two builds byte for byte after a refactoring:
#   bench/plan_outputs.sh OLD_BUILD /tmp/before; bench/plan_outputs.sh NEW_BUILD /tmp/after
#   diff -r /tmp/before /tmp/after
# States: empty database (shipped plugins, and the bench plugin at 50 tables), after migrate, and
# after hand-made drift (a dropped index and default, a row, a narrowed type, a dropped column).
# Log lines and timestamps are removed, so only the commands' own output is compared.
set -euo pipefail
BUILD=$1; OUT=$2
PLINTH=$(cd "$BUILD" && pwd)/runtime/plinth
BENCH_PLUGINS=$(cd "$BUILD" && pwd)/bench/plugins
rm -rf "$OUT"; mkdir -p "$OUT"
DATA=$(mktemp -d /tmp/plinth-plan-outputs.XXXXXX)
chmod 755 "$DATA"  # the embedded server runs as an unprivileged user that must reach it
trap '"$PLINTH" db stop --data-dir "$DATA/db" >/dev/null 2>&1 || true; rm -rf "$DATA"' EXIT
"$PLINTH" db start --data-dir "$DATA/db" >/dev/null
capture() {
    local name=$1; shift
    { "$@" --data-dir "$DATA/db" 2>/dev/null || echo "exit=$?"; } |
        sed -e '/^\[20..-..-.. ..:..:..\....\] /d' -e 's/applied 20[-0-9T:]*Z/applied <time>/' >"$OUT/$name"
}
capture empty.txt "$PLINTH" plan
capture empty.json "$PLINTH" plan --format json
PLINTH_BENCH_TABLES=50 capture bench.txt "$PLINTH" plan --plugins "$BENCH_PLUGINS"
"$PLINTH" migrate --data-dir "$DATA/db" >/dev/null 2>&1
capture migrated.txt "$PLINTH" plan
psql -q "$("$PLINTH" db url --data-dir "$DATA/db")" -c "
    DROP INDEX project_status_idx;
    ALTER TABLE projects ALTER COLUMN status DROP DEFAULT;
    INSERT INTO agents (name) VALUES ('x');
    ALTER TABLE agents ALTER COLUMN name TYPE varchar(10);
    ALTER TABLE tasks DROP COLUMN metadata;"
capture drift.txt "$PLINTH" plan
capture drift.json "$PLINTH" plan --format json
capture status.txt "$PLINTH" status
echo "wrote $(ls "$OUT" | wc -l) files to $OUT"
