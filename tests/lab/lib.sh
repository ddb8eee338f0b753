# tests/lab/lib.sh - the namespace lab shared by the lab scenarios and tools/demo.
#
# Topology (every name carries $LAB, unique per run, so runs never collide):
#
#   ${LAB}-net   underlay: bridge "br0", 172.31.77.1/24 (stands for the open network)
#   ${LAB}-kb    keybroker    172.31.77.2   listens on 172.31.77.2:7443
#   ${LAB}-alpha node         172.31.77.11
#   ${LAB}-beta  node         172.31.77.12
#   ${LAB}-gamma node         172.31.77.13
#   ${LAB}-gw    gateway      172.31.77.20, LAN side 10.200.0.1/24
#   ${LAB}-lan   LAN host     10.200.0.10 (default route via the gateway)
#
# Overlay: 100.96.0.0/24 and fd7a:6d76::/64. Nothing leaves these namespaces.
# lab_cleanup (installed as an EXIT/INT/TERM trap by lab_init) stops every
# process the lab started, by PID, and deletes every namespace it created.
#
# Binaries: $MAVPN and $KEYBROKER (default: build/src/cli/...).

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE:-$0}")/../.." && pwd)
MAVPN=${MAVPN:-$LAB_ROOT/build/src/cli/mavpn}
KEYBROKER=${KEYBROKER:-$LAB_ROOT/build/src/cli/mavpn-keybroker}
LAB=${LAB:-mvl$$}
LAB_DIR=${LAB_DIR:-/tmp/$LAB}
LAB_NS=""
LAB_PIDS=""
LAB_NODES=""
KB_ADDR=172.31.77.2:7443
# Sanitizer builds: leaks at daemon exit are reported by the unit suites; keep
# lab output readable.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

lab_log() { printf '[lab %s] %s\n' "$(date +%T)" "$*" >&2; }
lab_fail() { lab_log "FAIL: $*"; exit 1; }

lab_ns() { printf '%s-%s' "$LAB" "$1"; }
# Run a command inside a lab namespace: nsx NAME cmd args...
nsx() { _n=$1; shift; ip netns exec "$(lab_ns "$_n")" "$@"; }
# Start a command in the background inside a namespace; LAB_BG is its PID
# (ip netns exec execs the command, so this is the command itself, not a
# subshell) and lab_cleanup stops it. Redirect on the call: lab_bg NS cmd >f
lab_bg() {
	_n=$1; shift
	ip netns exec "$(lab_ns "$_n")" "$@" &
	LAB_BG=$!
	lab_track_pid "$LAB_BG"
}

lab_cleanup() {
	_rc=$?
	trap - EXIT INT TERM
	set +e		# callers may run under set -e; cleanup must run to the end
	for _node in $LAB_NODES; do
		[ -f "$LAB_DIR/$_node/mavpn.pid" ] || continue
		nsx "$_node" timeout 10 "$MAVPN" down -d "$LAB_DIR/$_node" >/dev/null 2>&1
		_p=$(cat "$LAB_DIR/$_node/mavpn.pid" 2>/dev/null)
		[ -n "$_p" ] && kill -TERM "$_p" 2>/dev/null
	done
	for _p in $LAB_PIDS; do kill -TERM "$_p" 2>/dev/null; done
	sleep 0.2
	for _p in $LAB_PIDS; do kill -KILL "$_p" 2>/dev/null; done
	for _n in $LAB_NS; do ip netns del "$_n" 2>/dev/null; done
	[ -n "${LAB_KEEP_DIR:-}" ] || rm -rf "$LAB_DIR"
	exit "$_rc"
}

lab_track_pid() { LAB_PIDS="$LAB_PIDS $1"; }

lab_add_ns() {
	_full=$(lab_ns "$1")
	ip netns add "$_full" || lab_fail "cannot create namespace $_full"
	LAB_NS="$_full $LAB_NS"
	ip -n "$_full" link set lo up
}

# lab_host NAME UNDERLAY_IP: a namespace with eth0 on the underlay bridge.
lab_host() {
	lab_add_ns "$1"
	ip -n "$(lab_ns "$1")" link add eth0 type veth peer name "$1" netns "$(lab_ns net)"
	ip -n "$(lab_ns net)" link set "$1" master br0 up
	ip -n "$(lab_ns "$1")" addr add "$2/24" dev eth0
	ip -n "$(lab_ns "$1")" link set eth0 up
}

lab_init() {
	trap lab_cleanup EXIT INT TERM
	[ "$(id -u)" = 0 ] || lab_fail "the lab needs root (network namespaces)"
	[ -x "$MAVPN" ] && [ -x "$KEYBROKER" ] || lab_fail "binaries missing: run tools/setup first ($MAVPN)"
	rm -rf "$LAB_DIR"; mkdir -p "$LAB_DIR"; chmod 700 "$LAB_DIR"
	lab_add_ns net
	ip -n "$(lab_ns net)" link add br0 type bridge
	ip -n "$(lab_ns net)" addr add 172.31.77.1/24 dev br0
	ip -n "$(lab_ns net)" link set br0 up
	lab_host kb 172.31.77.2
}

# lab_broker [policy-file]: init and start the keybroker.
lab_broker() {
	nsx kb "$KEYBROKER" init -d "$LAB_DIR/kb" --listen "$KB_ADDR" \
		--prefix 100.96.0.0/24 --prefix6 fd7a:6d76::/64 >/dev/null \
		|| lab_fail "keybroker init"
	[ -n "${1:-}" ] && cp "$1" "$LAB_DIR/kb/policy.conf"
	[ -n "${LAB_KEY_LIFE:-}" ] && sed -i "s/^key_life *=.*/key_life = $LAB_KEY_LIFE/" "$LAB_DIR/kb/keybroker.conf"
	lab_start_broker
}

lab_start_broker() {
	lab_bg kb "$KEYBROKER" run -d "$LAB_DIR/kb" >>"$LAB_DIR/kb.log" 2>&1
	KB_PID=$LAB_BG
	for _i in $(seq 1 50); do
		nsx kb sh -c "ss -Hltn | grep -q 172.31.77.2:7443" && return 0
		kill -0 "$KB_PID" 2>/dev/null || { cat "$LAB_DIR/kb.log" >&2; lab_fail "keybroker exited"; }
		sleep 0.1
	done
	lab_fail "keybroker did not listen on $KB_ADDR"
}

lab_stop_broker() {
	kill -TERM "$KB_PID" 2>/dev/null
	wait "$KB_PID" 2>/dev/null
}

# lab_node NAME UNDERLAY_IP [token args...]: namespace, token, enroll, up.
lab_node() {
	_name=$1 _ip=$2; shift 2
	lab_host "$_name" "$_ip"
	_tok=$(nsx kb "$KEYBROKER" token create -d "$LAB_DIR/kb" "$_name" "$@") \
		|| lab_fail "token create $_name"
	nsx "$_name" "$MAVPN" enroll -d "$LAB_DIR/$_name" --broker "$KB_ADDR" --token "$_tok" >/dev/null \
		|| lab_fail "enroll $_name"
	LAB_NODES="$LAB_NODES $_name"
	lab_up "$_name"
}

lab_up() {
	nsx "$1" "$MAVPN" up -d "$LAB_DIR/$1" 2>>"$LAB_DIR/$1.log" || { cat "$LAB_DIR/$1.log" >&2; lab_fail "mavpn up $1"; }
}

# lab_gateway: gateway node "gw" with a LAN namespace behind it.
lab_gateway() {
	lab_host gw 172.31.77.20
	lab_add_ns lan
	ip -n "$(lab_ns gw)" link add lan0 type veth peer name eth0 netns "$(lab_ns lan)"
	ip -n "$(lab_ns gw)" addr add 10.200.0.1/24 dev lan0
	ip -n "$(lab_ns gw)" link set lan0 up
	ip -n "$(lab_ns lan)" addr add 10.200.0.10/24 dev eth0
	ip -n "$(lab_ns lan)" link set eth0 up
	ip -n "$(lab_ns lan)" route add default via 10.200.0.1
	_tok=$(nsx kb "$KEYBROKER" token create -d "$LAB_DIR/kb" gw --route 10.200.0.0/24) \
		|| lab_fail "token create gw"
	nsx gw "$MAVPN" enroll -d "$LAB_DIR/gw" --broker "$KB_ADDR" --token "$_tok" >/dev/null \
		|| lab_fail "enroll gw"
	printf '\n[gateway]\nforward = yes\n' >>"$LAB_DIR/gw/mavpn.conf"
	LAB_NODES="$LAB_NODES gw"
	lab_up gw
}

# VIP of an enrolled node, from its mavpn.conf.
lab_vip() { sed -n 's/^vip *= *//p' "$LAB_DIR/$1/mavpn.conf" | head -n1; }

# lab_json NODE JQ-FILTER: query `mavpn status --json`.
lab_json() { nsx "$1" "$MAVPN" status -d "$LAB_DIR/$1" --json | jq -r "$2"; }

# lab_wait SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
lab_wait() {
	_t=$1; shift
	_end=$(( $(date +%s%N) + _t * 1000000000 ))
	while [ "$(date +%s%N)" -lt "$_end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
