#!/bin/bash
# `mavpn up` twice gives a clear error, not a second daemon; `mavpn down`
# leaves no interface, address, route or process behind.
set -u
. "$(dirname "$0")/lib.sh"
lab_init
lab_broker
lab_node alpha 172.31.77.11
pid=$(cat "$LAB_DIR/alpha/mavpn.pid")
kill -0 "$pid" || lab_fail "no daemon"
err=$(nsx alpha "$MAVPN" up -d "$LAB_DIR/alpha" 2>&1) && lab_fail "second 'mavpn up' succeeded"
echo "$err" | grep -qi 'already running' || lab_fail "unclear error for a second up: $err"
[ "$(cat "$LAB_DIR/alpha/mavpn.pid")" = "$pid" ] || lab_fail "pid file changed"
lab_log "second up refused: $err"

nsx alpha ip -o link | grep -q mavpn || lab_fail "no mavpn interface while up"
nsx alpha "$MAVPN" down -d "$LAB_DIR/alpha" || lab_fail "mavpn down"
kill -0 "$pid" 2>/dev/null && lab_fail "daemon $pid still running after down"
nsx alpha ip -o link | grep -q mavpn && lab_fail "interface left behind"
nsx alpha ip -o addr | grep -q '100\.96\.' && lab_fail "address left behind"
nsx alpha ip -o route | grep -q '100\.96\.' && lab_fail "route left behind"
nsx alpha ip -6 -o route | grep -q 'fd7a:6d76' && lab_fail "IPv6 route left behind"
lab_log "down left nothing behind"

# up again works, and SIGTERM cleans up the same way
lab_up alpha
pid=$(cat "$LAB_DIR/alpha/mavpn.pid")
kill -TERM "$pid"
lab_wait 5 sh -c "! kill -0 $pid" || lab_fail "daemon ignored SIGTERM"
nsx alpha ip -o link | grep -q mavpn && lab_fail "interface left behind after SIGTERM"
lab_log "PASS lifecycle"
