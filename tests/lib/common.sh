# common.sh - shared shell helpers of mailwarden's tests.
#
# Source it from a test script (bash):
#	. "$MW_SRCDIR/tests/lib/common.sh"
#	mw_init                      # work dir $W, cleanup trap
#	mw_need miltertest nsd       # tools; SKIP (77) locally, FAIL (99) in CI
#	port=$(mw_port)              # a free loopback TCP+UDP port
#	mw_nsd_start zonedir         # nsd on 127.0.0.1:$MW_DNS_PORT
#	mw_mailwarden_start conf     # mailwarden -f, pid tracked, log in $W
#	mw_miltertest script.lua     # run a miltertest script
#
# Every process started here is recorded with its pid and stopped by that
# pid when the test exits, pass or fail. Nothing is stopped by name.

: "${MW_BUILDDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${MW_SRCDIR:=$MW_BUILDDIR}"
MW_BIN="$MW_BUILDDIR/mailwarden"
MW_PIDS=()

# mw_fail - say why and fail the test
mw_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# mw_skip - a tool is missing: SKIP locally, hard error in CI
mw_skip() {
	if [ "${CI:-}" = "true" ]; then
		echo "ERROR (CI): $*" >&2
		exit 99
	fi
	echo "SKIP: $*" >&2
	exit 77
}

# mw_need - every named tool must be on PATH (or be a file)
mw_need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || [ -x "$t" ] ||
			mw_skip "$t is not installed (run scripts/deps.sh)"
	done
}

# mw_track - remember a pid to stop at exit
mw_track() {
	MW_PIDS+=("$1")
}

# mw_stop_pid - TERM, wait up to 8 s, then KILL; only that pid
mw_stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 80); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
}

# mw_cleanup - stop everything this test started, newest first
mw_cleanup() {
	local rc=$? i
	for ((i = ${#MW_PIDS[@]} - 1; i >= 0; i--)); do
		mw_stop_pid "${MW_PIDS[i]}"
	done
	for f in "${MW_CLEANUP_HOOKS[@]}"; do "$f" || true; done
	if [ $rc -ne 0 ] && [ -n "${W:-}" ]; then
		echo "--- test failed; work dir $W kept; logs:" >&2
		for f in "$W"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $f (last 30 lines)" >&2
			tail -n 30 "$f" >&2
		done
	elif [ -n "${W:-}" ] && [ -z "${MW_KEEP:-}" ]; then
		rm -rf "$W"
	fi
	exit $rc
}
MW_CLEANUP_HOOKS=()

# mw_init - make the work dir $W (not under /tmp's sticky world-writable
# root for keys: opendkim refuses those) and install the cleanup trap
mw_init() {
	W=$(mktemp -d "${TMPDIR:-/tmp}/mwtest.XXXXXX")
	chmod 755 "$W"
	trap mw_cleanup EXIT
	trap 'exit 1' INT TERM
}

# mw_port - a TCP and UDP port on 127.0.0.1 that nothing listens on
mw_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! ss -Htuln "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	mw_fail "no free port"
}

# mw_wait_port PORT [SECONDS] - wait until 127.0.0.1:PORT accepts TCP
mw_wait_port() {
	local port=$1 t=${2:-10} i
	for i in $(seq 1 $((t * 20))); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# mw_mailwarden_start CONF [ARGS...] - mailwarden -f in the background.
# The config's socket must be inet:PORT@127.0.0.1; sets MW_PID.
mw_mailwarden_start() {
	local conf=$1
	shift
	local port
	port=$(sed -n 's/^socket *= *"inet:\([0-9]*\)@.*/\1/p' "$conf")
	"$MW_BIN" -f -c "$conf" "$@" >>"$W/mailwarden.log" 2>&1 &
	MW_PID=$!
	mw_track "$MW_PID"
	if [ -n "$port" ]; then
		mw_wait_port "$port" 10 || mw_fail "mailwarden did not listen on $port"
	fi
}

# mw_log_wait PATTERN [SECONDS] - wait until mailwarden.log has a line
mw_log_wait() {
	local pat=$1 t=${2:-10} i
	for i in $(seq 1 $((t * 20))); do
		grep -q -- "$pat" "$W/mailwarden.log" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "no log line matching '$pat' in $W/mailwarden.log" >&2
	return 1
}

# mw_miltertest SCRIPT [VAR=VALUE...] - run a miltertest script; the
# variables reach Lua through the environment (os.getenv)
mw_miltertest() {
	local script=$1
	shift
	env "$@" miltertest -s "$script"
}

# mw_nsd_start ZONEDIR - start nsd on 127.0.0.1:$MW_DNS_PORT (UDP and TCP)
# serving every ZONEDIR/<zone>.zone file; add a "test." parent zone
# unless one is given, so out-of-zone *.test names get NXDOMAIN.
# With MW_NSD_IPV6=1 it listens on [::1]:$MW_DNS_PORT too. Its control
# socket ($W/nsd/nsd.ctl) serves mw_nsd_queries.
mw_nsd_start() {
	local zd=$1 z name
	MW_DNS_PORT=$(mw_port)
	mkdir -p "$W/nsd"
	if [ ! -f "$zd/test.zone" ]; then
		cat >"$zd/test.zone" <<EOF
\$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@ IN NS ns.test.
ns IN A 127.0.0.1
EOF
	fi
	cat >"$W/nsd/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$MW_DNS_PORT
    port: $MW_DNS_PORT
    username: ""
    chroot: ""
    zonesdir: "$zd"
    database: ""
    zonelistfile: "$W/nsd/zone.list"
    pidfile: "$W/nsd/nsd.pid"
    xfrdfile: "$W/nsd/xfrd.state"
    xfrdir: "$W/nsd"
    logfile: "$W/nsd.log"
    server-count: 1
    reuseport: no
    verbosity: 1
remote-control:
    control-enable: yes
    control-interface: $W/nsd/nsd.ctl
EOF
	if [ -n "${MW_NSD_IPV6:-}" ]; then
		sed -i "s/^    ip-address: 127.0.0.1@$MW_DNS_PORT\$/&\n    ip-address: ::1@$MW_DNS_PORT/" "$W/nsd/nsd.conf"
	fi
	for z in "$zd"/*.zone; do
		name=$(basename "$z" .zone)
		printf 'zone:\n    name: "%s"\n    zonefile: "%s"\n' "$name" "$z" >>"$W/nsd/nsd.conf"
		nsd-checkzone "$name" "$z" >/dev/null || mw_fail "zone $name does not load: $(nsd-checkzone "$name" "$z" 2>&1)"
	done
	nsd -d -c "$W/nsd/nsd.conf" >>"$W/nsd.log" 2>&1 &
	MW_NSD_PID=$!
	mw_track "$MW_NSD_PID"
	local i
	for i in $(seq 1 100); do
		dig +short +time=1 +tries=1 -p "$MW_DNS_PORT" @127.0.0.1 test. SOA >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	mw_fail "nsd did not answer on port $MW_DNS_PORT"
}

# mw_nsd_queries [COUNTER] - a counter of the running nsd (default: every
# query it received, UDP and TCP, IPv4 and IPv6; or num.tcp, num.udp6 ...).
# Read it before and after: the difference is what reached nsd.
mw_nsd_queries() {
	local key=${1:-num.queries} out
	out=$(nsd-control -c "$W/nsd/nsd.conf" stats_noreset 2>&1) ||
		mw_fail "nsd-control stats: $out"
	printf '%s\n' "$out" | sed -n "s/^$key=//p"
}
