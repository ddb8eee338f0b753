#!/bin/bash
# Rekey: a TCP transfer across at least 5 key lifetimes (key life 3 s) has no
# stalled second and no packet dropped for want of a key.
set -u
. "$(dirname "$0")/lib.sh"
export LAB_KEY_LIFE=3
lab_init
lab_broker
lab_node alpha 172.31.77.11
lab_node beta 172.31.77.12
B=$(lab_vip beta)
nsx alpha ping -c 1 -W 2 "$B" >/dev/null || lab_fail "alpha -> beta"

lab_bg beta iperf3 -s -1 -B "$B" >/dev/null 2>&1
lab_wait 5 nsx beta sh -c "ss -Hltn | grep -q ':5201'" || lab_fail "iperf3 server"
nsx alpha iperf3 -c "$B" -t 17 -J >"$LAB_DIR/iperf.json" 2>/dev/null || lab_fail "iperf3"
n=$(jq '.intervals | length' "$LAB_DIR/iperf.json")
slow=$(jq '[.intervals[].sum.bits_per_second] | min' "$LAB_DIR/iperf.json")
retr=$(jq '.end.sum_sent.retransmits' "$LAB_DIR/iperf.json")
lab_log "$n intervals, slowest $slow bit/s, $retr retransmits"
[ "$(jq '[.intervals[].sum.bytes | select(. == 0)] | length' "$LAB_DIR/iperf.json")" = 0 ] \
	|| lab_fail "a one-second interval carried no data (stall at a rekey)"
for n in alpha beta; do
	for r in no_session unknown_index tag replay; do
		v=$(lab_json $n ".drops.$r // 0")
		[ "$v" = 0 ] || lab_fail "$n counted $v drops of kind $r across rekeys"
	done
done
age=$(lab_json alpha '.peers[] | select(.name=="beta") | .session_age_s')
[ "${age%.*}" -le 6 ] || lab_fail "session is $age s old: no rekey happened"
lab_log "PASS rekey"
