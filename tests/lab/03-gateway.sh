#!/bin/bash
# Gateway: alpha reaches the LAN host behind gw; gamma, not allowed, cannot.
set -u
. "$(dirname "$0")/lib.sh"
lab_init
pol="$LAB_DIR/pol.conf"
printf '[default]\naction = deny\n\n[lan]\nfrom = alpha\nto = gw\n' >"$pol"
lab_broker "$pol"
lab_node alpha 172.31.77.11
lab_node gamma 172.31.77.13
lab_gateway
# the LAN host answers the overlay through the gateway
ip -n "$(lab_ns lan)" route add 100.96.0.0/24 via 10.200.0.1 2>/dev/null

lab_wait 5 nsx alpha ping -c 1 -W 1 10.200.0.10 || lab_fail "alpha cannot reach the LAN host"
nsx alpha ping -c 3 -i 0.2 -W 2 10.200.0.10 >/dev/null || lab_fail "alpha -> LAN host lossy"
lab_log "alpha reaches 10.200.0.10 through gw"
nsx gamma ping -c 2 -W 1 10.200.0.10 >/dev/null 2>&1 && lab_fail "gamma reached the LAN although denied"
lab_log "gamma cannot reach the LAN"
lab_log "PASS gateway"
