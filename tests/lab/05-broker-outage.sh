#!/bin/bash
# Broker killed during a transfer: the transfer continues. Broker restarted:
# a new destination works again.
set -u
. "$(dirname "$0")/lib.sh"
lab_init
lab_broker
lab_node alpha 172.31.77.11
lab_node beta 172.31.77.12
lab_node gamma 172.31.77.13
B=$(lab_vip beta) G=$(lab_vip gamma)
nsx alpha ping -c 1 -W 2 "$B" >/dev/null || lab_fail "alpha -> beta"

lab_bg beta iperf3 -s -1 -B "$B" >/dev/null 2>&1
lab_wait 5 nsx beta sh -c "ss -Hltn | grep -q ':5201'" || lab_fail "iperf3 server"
lab_bg alpha iperf3 -c "$B" -t 6 -J >"$LAB_DIR/iperf.json" 2>/dev/null
IP=$LAB_BG
sleep 1.5
kill -KILL "$KB_PID"; wait "$KB_PID" 2>/dev/null
lab_log "broker killed during the transfer"
wait $IP || lab_fail "iperf3 failed while the broker was down"
zero=$(jq '[.intervals[].sum.bytes | select(. == 0)] | length' "$LAB_DIR/iperf.json")
[ "$zero" = 0 ] || lab_fail "$zero one-second intervals without data while the broker was down"
lab_log "transfer completed with the broker down"

lab_start_broker
connected() { [ "$(lab_json "$1" '.broker.connected')" = true ]; }
lab_wait 20 connected alpha || lab_fail "alpha did not reconnect"
lab_wait 20 connected gamma || lab_fail "gamma did not reconnect"
lab_wait 5 nsx alpha ping -c 1 -W 1 "$G" || lab_fail "new destination gamma after broker restart"
lab_log "PASS broker outage"
