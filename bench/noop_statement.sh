#!/usr/bin/env bash
# Server-side time of the fast path's one statement (parse + bind + execute, summed from the server
# log with log_min_duration_statement = 0), median of 5 no-op starts, with the DDL epoch and with its
# triggers disabled (the fingerprint). Runs against databases b<N> migrated with PLINTH_BENCH_TABLES=N
# on the server whose log is LOG. Usage: LOG=SERVER_LOG PGHOSTDIR=SOCKET_DIR bench/noop_statement.sh N (from the root of a tree built in build-rel)
set -euo pipefail
n=$1; LOG=${LOG:-/tmp/epoch-pg/db/postgres.log}; U="postgresql:///b$n?host=${PGHOSTDIR:-/tmp/epoch-pg/db}&port=5432&user=plinth"
export PLINTH_BENCH_TABLES=$n
run() {
  for i in 1 2 3 4 5; do
    start=$(wc -l < $LOG)
    ./build-rel/runtime/plinth migrate --plugins build-rel/bench/plugins --database-url "$U" >/dev/null 2>&1
    tail -n +$((start+1)) $LOG | grep "SELECT t.desired_hash" | sed -E 's/.*duration: ([0-9.]+) ms.*/\1/' | awk '{s+=$1} END{printf "%.1f\n", s}'
  done | sort -g | awk '{a[NR]=$1} END{print a[3]}'
}
psql -X -q "$U" -c "ALTER DATABASE b$n SET log_min_duration_statement = 0"
e=$(run)
for t in drop end start; do psql -X -q "$U" -c "ALTER EVENT TRIGGER plinth_ddl_epoch_$t DISABLE"; done
f=$(run)
for t in drop end start; do psql -X -q "$U" -c "ALTER EVENT TRIGGER plinth_ddl_epoch_$t ENABLE ALWAYS"; done
psql -X -q "$U" -c "ALTER DATABASE b$n RESET log_min_duration_statement"
echo "$n tables: fast-path statement, median of 5 fresh backends: epoch $e ms, fingerprint $f ms"
