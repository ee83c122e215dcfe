#!/usr/bin/env bash
# One plinth run against a real pg_auto_failover formation (monitor, primary, secondary; Debian's
# postgresql-15-auto-failover) on free local ports, with the "writer" plugin inserting rows through
# the host API while the primary is stopped. Prints the writes attempted, succeeded, failed as a
# lost connection or an unreachable server, other failures, acknowledged writes missing on the new
# primary, and the time until writes succeeded again. Fails when an acknowledged write is lost, a
# write fails otherwise, or plinth exits before it is told to.
# Usage: autoctl_test.sh PLINTH_EXE WRITER_PLUGIN_DIR
set -euo pipefail
plinth=$1
plugins=$2
pgbin=/usr/lib/postgresql/15/bin
work=$(mktemp -d /tmp/plinth-autoctl-XXXXXX)
# pg_autoctl keeps its state under XDG_CONFIG_HOME and XDG_DATA_HOME: in the work folder, so that
# nothing is left in the postgres user's home.
as_pg() {
    local env=(env XDG_CONFIG_HOME="$work/xdg/config" XDG_DATA_HOME="$work/xdg/data" XDG_RUNTIME_DIR="$work/xdg/run")
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "${env[@]}" "$@"; else "${env[@]}" "$@"; fi
}
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
chmod 755 "$work"
pids=()
plinth_pid=
cleanup() {
    local status=$?
    set +e
    trap - TERM INT
    [ -n "$plinth_pid" ] && kill "$plinth_pid" 2>/dev/null && wait "$plinth_pid" 2>/dev/null
    for node in a b monitor; do
        [ -d "$work/$node" ] && as_pg pg_autoctl stop --pgdata "$work/$node" --immediate >/dev/null 2>&1
    done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 1' TERM INT
fail() { echo "FAIL: $*"; for f in plinth.log a.log b.log monitor.log; do echo "--- $f"; tail -n 30 "$work/$f" 2>/dev/null; done; exit 1; }
# Waits up to $1 seconds for the command after it to succeed.
wait_for() { local limit=$1; shift; for ((i = 0; i < limit * 5; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }

read -r p_monitor p_a p_b < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
common=(--hostname localhost --auth trust --no-ssl --pgctl "$pgbin/pg_ctl")

as_pg pg_autoctl create monitor --pgdata "$work/monitor" --pgport "$p_monitor" "${common[@]}" >"$work/monitor.log" 2>&1 ||
    fail "pg_autoctl create monitor"
as_pg pg_autoctl run --pgdata "$work/monitor" >>"$work/monitor.log" 2>&1 &
pids+=($!)
wait_for 60 as_pg psql -h localhost -p "$p_monitor" -U autoctl_node -d pg_auto_failover -c 'SELECT 1' || fail "monitor not up"
monitor_uri="postgres://autoctl_node@localhost:$p_monitor/pg_auto_failover?sslmode=disable"
# The monitor's defaults take about 57 s from a stopped primary to a promoted secondary (20 s before
# a node counts as unhealthy, 30 s for a primary that never reports its demotion). What plinth does
# in the gap does not depend on its length: shorter timeouts keep the suite's longest test short.
as_pg psql -X -q -h localhost -p "$p_monitor" -d pg_auto_failover \
    -c "ALTER SYSTEM SET pgautofailover.health_check_period = 1000" \
    -c "ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500" \
    -c "ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 3000" \
    -c "ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 3000" \
    -c "SELECT pg_reload_conf()" >>"$work/monitor.log" 2>&1 || fail "setting the monitor's timeouts"

state_is() {  # NODE STATE
    as_pg pg_autoctl show state --pgdata "$work/monitor" 2>/dev/null | awk -v n="$1" -v s="$2" '$1 == n && $NF == s {f = 1} END {exit !f}'
}
for node in a b; do
    port=$p_a; [ "$node" = b ] && port=$p_b
    as_pg pg_autoctl create postgres --pgdata "$work/$node" --pgport "$port" --name "$node" --dbname plinth_ha \
        --monitor "$monitor_uri" "${common[@]}" >"$work/$node.log" 2>&1 || fail "pg_autoctl create postgres $node"
    as_pg pg_autoctl run --pgdata "$work/$node" >>"$work/$node.log" 2>&1 &
    pids+=($!)
    # Alone, the first node is "single"; it becomes "primary" once the second is its secondary.
    if [ "$node" = a ]; then wait_for 120 state_is a single || fail "node a did not start"; fi
done
wait_for 180 state_is b secondary || fail "node b did not become secondary"
wait_for 60 state_is a primary || fail "node a is not primary with b secondary"

url="$(as_pg pg_autoctl show uri --pgdata "$work/monitor" --formation default)"
url="$url&user=postgres"
echo "formation ready: $url"
printf '[writer]\nreport = "%s"\n' "$work/writes.log" >"$work/plinth.toml"
"$plinth" run --plugins "$plugins" --database-url "$url" --config "$work/plinth.toml" --ready-file "$work/ready" \
    --connect-timeout 120 --log-format text --color never >"$work/plinth.log" 2>&1 &
plinth_pid=$!
wait_for 120 test -e "$work/ready" || fail "plinth run did not become ready"
wait_for 60 awk '$2 == "ok" {n++} END {exit n < 200}' "$work/writes.log" || fail "no writes before the failover"

stopped_ms=$(date +%s%3N)
as_pg pg_autoctl stop --pgdata "$work/a" >/dev/null 2>&1 || fail "pg_autoctl stop a"
echo "primary a stopped"
# Writes succeed again once b is promoted; then a few hundred more.
wait_for 300 awk -v t="$stopped_ms" '$1 > t && $2 == "ok" {n++} END {exit n < 300}' "$work/writes.log" ||
    fail "writes did not succeed again within 300 s of stopping the primary"
kill -0 "$plinth_pid" 2>/dev/null || fail "plinth exited during the failover"
kill -TERM "$plinth_pid"
status=0
wait "$plinth_pid" || status=$?
plinth_pid=
[ "$status" -eq 0 ] || fail "plinth run exited with $status after SIGTERM"

acknowledged=$(awk '$2 == "ok" {print $3}' "$work/writes.log" | sort -n)
present=$(psql "$url" -Atc 'SELECT id FROM writer_log ORDER BY id' | sort -n)
missing=$(comm -23 <(echo "$acknowledged") <(echo "$present") | grep -c . || true)
read -r attempted succeeded lost unreachable other < <(awk '
    {n++; c[$2]++} END {print n, c["ok"] + 0, c["lost"] + 0, c["unreachable"] + 0, c["error"] + 0}' "$work/writes.log")
recovery_ms=$(awk -v t="$stopped_ms" '$1 > t && $2 != "ok" {failed = 1} failed && $2 == "ok" {print $1 - t; exit}' "$work/writes.log")
echo "writes attempted $attempted, succeeded $succeeded, failed as lost connection $lost, as unreachable server $unreachable, other failures $other"
echo "acknowledged writes missing on the new primary: $missing"
echo "writes succeeded again ${recovery_ms:-?} ms after the primary was stopped"
awk '$2 == "error"' "$work/writes.log" | head -5
[ "$missing" -eq 0 ] || fail "$missing acknowledged writes are missing on the new primary"
[ "$other" -eq 0 ] || fail "$other writes failed with an error that is not a connection error"
echo "1 passed, 0 failed"
