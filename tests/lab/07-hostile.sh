#!/bin/bash
# Hostile underlay: random garbage, replayed captured packets, bit-flipped
# packets and a valid packet with a spoofed inner source: all dropped and
# counted; the tunnel keeps working.
set -u
. "$(dirname "$0")/lib.sh"
LABUDP=${LABUDP:-$LAB_ROOT/build/tests/lab/labudp}
lab_init
lab_broker
lab_node alpha 172.31.77.11
lab_node beta 172.31.77.12
lab_host gamma 172.31.77.13          # an attacker on the underlay, not enrolled
A=$(lab_vip alpha) B=$(lab_vip beta)
PORT=$(sed -n 's/^listen_port *= *//p' "$LAB_DIR/beta/mavpn.conf")
[ -n "$PORT" ] || lab_fail "beta's listen_port not found"

lab_bg beta tcpdump -i eth0 -n -U --immediate-mode -w "$LAB_DIR/beta.pcap" "udp and dst host 172.31.77.12 and dst port $PORT" 2>/dev/null
CAP=$LAB_BG
lab_wait 5 test -s "$LAB_DIR/beta.pcap" || lab_fail "capture did not start"
sleep 0.5
nsx alpha ping -c 20 -i 0.05 -W 2 "$B" >/dev/null || lab_fail "alpha -> beta"
sleep 0.3; kill -INT $CAP; wait $CAP 2>/dev/null

drops() { lab_json beta ".drops.$1 // 0"; }
g0=$(( $(drops bad_header) + $(drops unknown_index) ))
nsx gamma "$LABUDP" garbage 172.31.77.12 "$PORT" 500 >/dev/null || lab_fail "garbage"
sleep 0.3
g1=$(( $(drops bad_header) + $(drops unknown_index) ))
[ $((g1 - g0)) -ge 400 ] || lab_fail "garbage: only $((g1 - g0)) of 500 datagrams counted"
lab_log "garbage: $((g1 - g0)) drops counted"

r0=$(drops replay)
n=$(nsx gamma "$LABUDP" replay "$LAB_DIR/beta.pcap" 172.31.77.12 "$PORT")
sleep 0.3
r1=$(drops replay)
[ "$n" -ge 15 ] && [ $((r1 - r0)) -eq "$n" ] || lab_fail "replay: $n resent, $((r1 - r0)) counted"
lab_log "replay: $n resent, $((r1 - r0)) counted"

f0=$(( $(drops tag) + $(drops replay) + $(drops bad_header) + $(drops unknown_index) ))
n=$(nsx gamma "$LABUDP" replay "$LAB_DIR/beta.pcap" 172.31.77.12 "$PORT" flip)
sleep 0.3
f1=$(( $(drops tag) + $(drops replay) + $(drops bad_header) + $(drops unknown_index) ))
[ $((f1 - f0)) -eq "$n" ] || lab_fail "bit flips: $n sent, $((f1 - f0)) counted"
lab_log "bit flips: $n sent, all dropped"

# beta sends with an inner source that is not its VIP: alpha must drop it
s0=$(lab_json alpha '.drops.src_not_allowed // 0')
nsx beta ip addr add 100.96.0.250/32 dev lo
nsx beta ping -c 3 -i 0.2 -W 1 -I 100.96.0.250 "$A" >/dev/null 2>&1 && lab_fail "spoofed source got an answer"
s1=$(lab_json alpha '.drops.src_not_allowed // 0')
[ $((s1 - s0)) -ge 1 ] || lab_fail "spoofed inner source not counted at alpha"
lab_log "spoofed inner source: $((s1 - s0)) drops at alpha"

nsx alpha ping -c 3 -i 0.2 -W 2 "$B" >/dev/null || lab_fail "tunnel broken after the attack"
lab_log "PASS hostile underlay"
