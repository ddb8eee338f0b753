#!/bin/bash
# alpha <-> beta: ping both ways and a TCP transfer whose content is checked;
# a capture on the broker's link shows control traffic only (TCP to the
# broker port), not one data packet: the data path is direct.
set -u
. "$(dirname "$0")/lib.sh"
lab_init
lab_broker

lab_bg net tcpdump -i kb -n -U --immediate-mode -w "$LAB_DIR/kb.pcap" 2>/dev/null
CAP=$LAB_BG
sleep 0.5

lab_node alpha 172.31.77.11
lab_node beta 172.31.77.12
A=$(lab_vip alpha) B=$(lab_vip beta)
[ -n "$A" ] && [ -n "$B" ] || lab_fail "no VIPs in mavpn.conf"

nsx alpha ping -c 3 -i 0.2 -W 2 "$B" >/dev/null || lab_fail "ping alpha -> beta ($B)"
nsx beta ping -c 3 -i 0.2 -W 2 "$A" >/dev/null || lab_fail "ping beta -> alpha ($A)"
lab_log "ping both ways ok"

head -c 8M /dev/urandom >"$LAB_DIR/blob"
lab_bg beta timeout 30 nc -l 5001 >"$LAB_DIR/blob.rx"
RX=$LAB_BG
lab_wait 5 nsx beta sh -c "ss -Hltn | grep -q ':5001'" || lab_fail "receiver did not listen"
nsx alpha timeout 30 nc -N "$B" 5001 <"$LAB_DIR/blob" || lab_fail "TCP send alpha -> beta"
wait $RX
cmp -s "$LAB_DIR/blob" "$LAB_DIR/blob.rx" || lab_fail "transferred content differs"
lab_log "8 MiB TCP transfer alpha -> beta, content identical"

# the peers reach each other at their underlay addresses
ep=$(lab_json alpha '.peers[] | select(.name=="beta") | .endpoint')
case "$ep" in 172.31.77.12:*) ;; *) lab_fail "alpha's endpoint for beta is '$ep'";; esac

sleep 0.5
kill -INT $CAP; wait $CAP 2>/dev/null
udp=$(tcpdump -r "$LAB_DIR/kb.pcap" -n udp 2>/dev/null | wc -l)
ctl=$(tcpdump -r "$LAB_DIR/kb.pcap" -n 'tcp port 7443' 2>/dev/null | wc -l)
[ "$ctl" -gt 0 ] || lab_fail "capture saw no control traffic (is the capture broken?)"
[ "$udp" -eq 0 ] || lab_fail "$udp UDP packets crossed the broker's link"
lab_log "broker link: $ctl control packets, 0 data packets"
lab_log "PASS direct path"
