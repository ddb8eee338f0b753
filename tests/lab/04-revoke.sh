#!/bin/bash
# `node revoke beta` during a running transfer: alpha's keys for beta are gone
# within 1 s, traffic stops, beta cannot reconnect.
set -u
. "$(dirname "$0")/lib.sh"
lab_init
lab_broker
lab_node alpha 172.31.77.11
lab_node beta 172.31.77.12
B=$(lab_vip beta)
nsx alpha ping -c 2 -W 2 "$B" >/dev/null || lab_fail "alpha -> beta before revoke"

lab_bg beta iperf3 -s -1 -B "$B" >/dev/null 2>&1
lab_wait 5 nsx beta sh -c "ss -Hltn | grep -q ':5201'" || lab_fail "iperf3 server"
lab_bg alpha timeout 12 iperf3 -c "$B" -t 6 >/dev/null 2>&1
IP=$LAB_BG
sleep 2

t0=$(date +%s%N)
nsx kb "$KEYBROKER" node revoke -d "$LAB_DIR/kb" beta || lab_fail "node revoke"
gone() { [ "$(lab_json alpha '[.peers[]? | select(.name=="beta" and .session_age_s != null)] | length')" = 0 ]; }
lab_wait 2 gone || lab_fail "alpha still holds keys for beta"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 1000 ] || lab_fail "keys erased only after $ms ms"
lab_log "alpha erased beta's keys $ms ms after revoke"
nsx alpha ping -c 1 -W 1 "$B" >/dev/null 2>&1 && lab_fail "traffic to beta still flows"
kill $IP 2>/dev/null; wait $IP 2>/dev/null

sleep 3
[ "$(lab_json beta '.broker.connected')" = false ] || lab_fail "revoked beta is connected to the broker"
[ "$(lab_json beta '.broker.state')" = revoked ] || lab_fail "beta does not know it was revoked"
grep -qi 'revoked' "$LAB_DIR/kb.log" || lab_fail "broker log does not mention the revocation"
nsx kb "$KEYBROKER" node list -d "$LAB_DIR/kb" --all --json | jq -e '.[] | select(.name=="beta") | .revoked' >/dev/null \
	|| lab_fail "node list does not show beta revoked"
lab_log "PASS revoke"
