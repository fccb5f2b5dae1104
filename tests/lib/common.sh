# common.sh - shared shell helpers of mailwarden's tests.
#
# Source it from a test script (bash):
#	. "$MW_SRCDIR/tests/lib/common.sh"
#	mw_init                      # work dir $W, cleanup trap
#	mw_need miltertest nsd       # tools; SKIP (77) locally, FAIL (99) in CI
#	port=$(mw_port)              # a free loopback TCP+UDP port
#	mw_nsd_start zonedir         # nsd on 127.0.0.1:$MW_DNS_PORT, UDP+TCP,
#	                             # parent "test." zone (NXDOMAIN elsewhere)
#	mw_nsd_queries [counter]     # nsd's query counters (nsd-control)
#	mw_test_psl                  # $MW_PSL: public suffix list + "test"
#	mw_mailwarden_start conf     # mailwarden -f, pid tracked, log in
#	                             # $W/mailwarden.log; sets MW_MILTER_PORT
#	mw_mailwarden_stop           # TERM it (and wake libmilter: fast)
#	mw_log_wait regex [secs]     # wait for a mailwarden log line
#	mw_miltertest script.lua     # run a miltertest script
#	mw_dns_run cmd [args...]     # run a third-party tool (opendkim-testmsg,
#	                             # dkimverify...) with its libc resolver
#	                             # pointed at the test's nsd (LD_PRELOAD)
#	mw_testmsg file              # opendkim-testmsg verify through the nsd
#	mw_dns_silent_start          # a DNS server that never answers, on
#	                             # $MW_SILENT_DNS_PORT; mw_dns_silent_wait
#
# Postfix, smtp-sink and swaks: tests/lib/postfix.sh. Independent
# verifiers (dkimpy, pyspf, authres) against the nsd: tests/lib/verify.py.
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

# mw_track PID [PORT] - remember a pid to stop at exit; PORT: see mw_stop_pid
mw_track() {
	MW_PIDS+=("$1${2:+:$2}")
}

# mw_alive PID - the process exists and is not a zombie (daemons that
# left our process tree are reaped by init, not always at once)
mw_alive() {
	kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# mw_stop_pid PID [PORT] - TERM, wait up to 8 s, then KILL; only that pid.
# A libmilter daemon notices TERM only when its listener wakes (every 5 s):
# with PORT (its inet port on 127.0.0.1) a connection wakes it at once.
mw_stop_pid() {
	local pid=$1 port=${2:-} i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 80); do
		kill -0 "$pid" 2>/dev/null || return 0
		if [ -n "$port" ] && [ $((i % 5)) = 1 ]; then
			(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
		fi
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
}

# mw_pid_port ENTRY - the port of a "pid:port" MW_PIDS entry, or nothing
mw_pid_port() {
	case "$1" in *:*) echo "${1#*:}" ;; esac
}

# mw_cleanup - stop everything this test started, newest first
mw_cleanup() {
	local rc=$? i
	for ((i = ${#MW_PIDS[@]} - 1; i >= 0; i--)); do
		mw_stop_pid "${MW_PIDS[i]%%:*}" "$(mw_pid_port "${MW_PIDS[i]}")"
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

# mw_port - a TCP and UDP port on 127.0.0.1 that nothing uses
# Ports come from 10000-32767, below the kernel's ephemeral range
# (32768-60999), so no outgoing connection of any process can hold one; a
# port in any state (TIME_WAIT too) is passed over.
mw_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % 22768))
		if ! ss -Htuan "sport = :$p" 2>/dev/null | grep -q .; then
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
# The config's socket must be inet:PORT@127.0.0.1; sets MW_PID, and
# MW_MILTER_PORT to PORT (mw_postfix_start points Postfix at it).
mw_mailwarden_start() {
	local conf=$1
	shift
	local port
	port=$(sed -n 's/^socket *= *"inet:\([0-9]*\)@.*/\1/p' "$conf")
	[ -n "$port" ] && MW_MILTER_PORT=$port
	"$MW_BIN" -f -c "$conf" "$@" >>"$W/mailwarden.log" 2>&1 &
	MW_PID=$!
	mw_track "$MW_PID" "$port"
	if [ -n "$port" ]; then
		mw_wait_port "$port" 10 || mw_fail "mailwarden did not listen on $port"
	fi
}

# mw_mailwarden_stop - stop the mailwarden of mw_mailwarden_start now
mw_mailwarden_stop() {
	mw_stop_pid "$MW_PID" "${MW_MILTER_PORT:-}"
}

# mw_grep_wait FILE SECONDS GREP_ARGS... - wait until "grep -q GREP_ARGS
# FILE" matches, polling every 50 ms; 1 when it never did
mw_grep_wait() {
	local file=$1 t=$2 i
	shift 2
	for i in $(seq 1 $((t * 20))); do
		grep -q "$@" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# mw_log_wait PATTERN [SECONDS] - wait until mailwarden.log has a line
mw_log_wait() {
	mw_grep_wait "$W/mailwarden.log" "${2:-10}" -- "$1" && return 0
	echo "no log line matching '$1' in $W/mailwarden.log" >&2
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
# serving every ZONEDIR/<zone>.zone file, plus a "test." parent zone
# (written under $W, never into ZONEDIR) unless ZONEDIR has one, so that
# out-of-zone *.test names get NXDOMAIN, not REFUSED. With MW_NSD_IPV6=1
# it listens on [::1]:$MW_DNS_PORT too. Returns once both UDP and TCP
# answer. The config is $W/nsd/nsd.conf (tests/sign/nsrun.sh rewrites it).
# Its control socket ($W/nsd/nsd.ctl) serves mw_nsd_queries.
mw_nsd_start() {
	local zd=$1 z
	MW_DNS_PORT=$(mw_port)
	mkdir -p "$W/nsd" "$W/nsd-parent"
	mw_nsd_conf >"$W/nsd/nsd.conf"
	if [ ! -f "$zd/test.zone" ]; then
		mw_nsd_parent_zone >"$W/nsd-parent/test.zone"
		mw_nsd_zone test "$W/nsd-parent/test.zone"
	fi
	for z in "$zd"/*.zone; do
		[ -f "$z" ] || continue
		mw_nsd_zone "$(basename "$z" .zone)" "$z"
	done
	nsd -d -c "$W/nsd/nsd.conf" >>"$W/nsd.log" 2>&1 &
	MW_NSD_PID=$!
	mw_track "$MW_NSD_PID"
	mw_nsd_wait || mw_fail "nsd did not answer on port $MW_DNS_PORT (UDP and TCP)"
}

# mw_nsd_conf - the server part of nsd.conf
mw_nsd_conf() {
	echo "server:"
	echo "    ip-address: 127.0.0.1@$MW_DNS_PORT"
	[ -n "${MW_NSD_IPV6:-}" ] && echo "    ip-address: ::1@$MW_DNS_PORT"
	cat <<EOF
    port: $MW_DNS_PORT
    username: ""
    chroot: ""
    zonesdir: "$W/nsd"
    database: ""
    zonelistfile: "$W/nsd/zone.list"
    pidfile: "$W/nsd/nsd.pid"
    xfrdfile: "$W/nsd/xfrd.state"
    xfrdir: "$W/nsd"
    logfile: "$W/nsd.log"
    server-count: 1
    reuseport: no
    verbosity: 1
    rrl-ratelimit: 0
remote-control:
    control-enable: yes
    control-interface: $W/nsd/nsd.ctl
EOF
}

# mw_nsd_parent_zone - a bare "test." zone: every other *.test is NXDOMAIN
mw_nsd_parent_zone() {
	cat <<EOF
\$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@ IN NS ns.test.
ns IN A 127.0.0.1
EOF
}

# mw_nsd_zone NAME FILE - check a zone file and add it to nsd.conf
mw_nsd_zone() {
	nsd-checkzone "$1" "$2" >/dev/null ||
		mw_fail "zone $1 does not load: $(nsd-checkzone "$1" "$2" 2>&1)"
	printf 'zone:\n    name: "%s"\n    zonefile: "%s"\n' "$1" "$2" >>"$W/nsd/nsd.conf"
}

# mw_nsd_wait - poll until nsd answers the test. SOA over UDP and over TCP
mw_nsd_wait() {
	local i
	for i in $(seq 1 200); do
		kill -0 "$MW_NSD_PID" 2>/dev/null || return 1
		if dig +time=1 +tries=1 -p "$MW_DNS_PORT" @127.0.0.1 test. SOA 2>/dev/null |
			grep -q 'status: NOERROR' &&
			dig +tcp +time=1 +tries=1 -p "$MW_DNS_PORT" @127.0.0.1 test. SOA 2>/dev/null |
			grep -q 'status: NOERROR'; then
			return 0
		fi
		sleep 0.05
	done
	return 1
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

# mw_test_psl [FILE] - a public suffix list for DMARC tests: Debian's list
# plus "test" (libopendmarc applies no implicit "*" rule, so without it
# the organizational domain of a.b.example.test is not found). Writes FILE
# (default $W/test_psl.dat) and sets MW_PSL to its name.
mw_test_psl() {
	local f=${1:-$W/test_psl.dat} src
	for src in /usr/share/publicsuffix/public_suffix_list.dat \
		/usr/share/publicsuffix/effective_tld_names.dat; do
		[ -f "$src" ] && break
	done
	[ -f "$src" ] || mw_skip "no public suffix list (install publicsuffix)"
	{ cat "$src"; printf '\n// mailwarden tests\ntest\n'; } >"$f"
	MW_PSL=$f
}

# mw_verify COMMAND ARGS... - tests/lib/verify.py on the test's nsd
# (dkim, spf, authres, sinkmsg, envelope; see the top of verify.py)
mw_verify() {
	/usr/bin/python3 "$MW_SRCDIR/tests/lib/verify.py" --dns-port "${MW_DNS_PORT:-0}" "$@"
}

# mw_dns_run CMD [ARGS...] - run CMD with its libc resolver (res_ninit,
# res_init) answering from 127.0.0.1:$MW_DNS_PORT: tests/lib/resolv_shim.so
# (built by make check) preloaded. For third-party tools only.
mw_dns_run() {
	local shim="$MW_BUILDDIR/tests/lib/resolv_shim.so"
	[ -f "$shim" ] || mw_fail "$shim is not built (make check builds it)"
	[ -n "${MW_DNS_PORT:-}" ] || mw_fail "mw_dns_run: no nsd (mw_nsd_start first)"
	TEST_DNS_SERVER="127.0.0.1:$MW_DNS_PORT" LD_PRELOAD="$shim${LD_PRELOAD:+:$LD_PRELOAD}" "$@"
}

# mw_testmsg FILE - opendkim-testmsg (libopendkim's verifier) on FILE, keys
# from the test's nsd; smtp-sink envelope lines are dropped first. Exit
# status: 0 every signature verifies, else opendkim-testmsg's (70: bad).
mw_testmsg() {
	mw_verify sinkmsg "$1" >"$1.testmsg" || return 2
	mw_dns_run opendkim-testmsg <"$1.testmsg"
}

# mw_dns_silent_start - a DNS server on 127.0.0.1:$MW_SILENT_DNS_PORT that
# never answers (UDP or TCP): every query it hears becomes a line
# "udp|tcp NAME" in $MW_SILENT_DNS_LOG. For timeouts, budgets, and to
# catch a resolver mid-lookup (mw_dns_silent_wait).
mw_dns_silent_start() {
	MW_SILENT_DNS_PORT=$(mw_port)
	MW_SILENT_DNS_LOG="$W/silent-dns.queries"
	: >"$MW_SILENT_DNS_LOG"
	/usr/bin/python3 "$MW_SRCDIR/tests/lib/silent_dns.py" "$MW_SILENT_DNS_PORT" \
		"$MW_SILENT_DNS_LOG" >>"$W/silent-dns.log" 2>&1 &
	MW_SILENT_DNS_PID=$!
	mw_track "$MW_SILENT_DNS_PID"
	mw_wait_port "$MW_SILENT_DNS_PORT" 10 || mw_fail "the silent DNS server did not start"
}

# mw_dns_silent_wait [REGEX] [SECONDS] - wait until it has heard a query
# whose "udp|tcp NAME" line matches REGEX (grep -E; default: any query)
mw_dns_silent_wait() {
	local re=${1:-.} t=${2:-20} i
	for i in $(seq 1 $((t * 20))); do
		grep -Eq -- "$re" "$MW_SILENT_DNS_LOG" && return 0
		sleep 0.05
	done
	return 1
}
