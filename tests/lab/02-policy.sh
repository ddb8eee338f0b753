#!/bin/bash
# Policy: alpha -> gamma denied (ICMP unreachable within 1 s); allowed after
# `policy reload` without restarting anything; forbidden again cuts the live
# session at once.
set -u
. "$(dirname "$0")/lib.sh"
lab_init
pol="$LAB_DIR/pol.conf"
printf '[default]\naction = deny\n\n[ab]\nfrom = alpha beta\nto = alpha beta\n' >"$pol"
lab_broker "$pol"
lab_node alpha 172.31.77.11
lab_node gamma 172.31.77.13
G=$(lab_vip gamma)

t0=$(date +%s%N)
out=$(nsx alpha ping -c 1 -W 3 "$G" 2>&1) && lab_fail "alpha reached gamma although denied"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "$out" | grep -qiE 'prohibited|filtered|unreachable' || lab_fail "no ICMP unreachable: $out"
[ "$ms" -lt 1000 ] || lab_fail "ICMP unreachable took $ms ms"
lab_log "denied: ICMP unreachable after $ms ms"

printf '\n[ag]\nfrom = alpha\nto = gamma\n' >>"$LAB_DIR/kb/policy.conf"
nsx kb "$KEYBROKER" policy reload -d "$LAB_DIR/kb" || lab_fail "policy reload (allow)"
lab_wait 5 nsx alpha ping -c 1 -W 1 "$G" || lab_fail "alpha cannot reach gamma after allow + reload"
lab_log "allowed after reload"

# a malformed policy is rejected with its line and the old one stays
cp "$LAB_DIR/kb/policy.conf" "$LAB_DIR/good.conf"
printf '\n[bad]\nform = alpha\n' >>"$LAB_DIR/kb/policy.conf"
err=$(nsx kb "$KEYBROKER" policy reload -d "$LAB_DIR/kb" 2>&1) && lab_fail "malformed policy accepted"
echo "$err" | grep -q ':[0-9]' || lab_fail "policy error without a line number: $err"
nsx alpha ping -c 1 -W 1 "$G" >/dev/null || lab_fail "old policy not kept after a bad reload"
lab_log "malformed policy refused: $err"

cp "$LAB_DIR/good.conf" "$LAB_DIR/kb/policy.conf"
sed -i '/^\[ag\]/,$d' "$LAB_DIR/kb/policy.conf"
nsx kb "$KEYBROKER" policy reload -d "$LAB_DIR/kb" || lab_fail "policy reload (forbid)"
t0=$(date +%s%N)
no_session() { [ "$(lab_json alpha '[.peers[]? | select(.name=="gamma" and .session_age_s != null)] | length')" = 0 ]; }
lab_wait 2 no_session || lab_fail "alpha still holds keys for gamma after the policy forbade it"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 1000 ] || lab_fail "session cut took $ms ms"
nsx alpha ping -c 1 -W 1 "$G" >/dev/null 2>&1 && lab_fail "alpha still reaches gamma"
lab_log "live session cut $ms ms after reload"
lab_log "PASS policy"
