# lib.sh - the benchmark's environment (sourced by bench/run.sh).
#
# Everything runs in a private network and mount namespace (run.sh re-executes
# itself under "unshare --net --mount"), so nothing reaches or disturbs the
# host's network and fixed ports are safe:
#	lo carries 127.0.0.1 and $BENCH_ADDR (192.0.2.25). Postfix's smtpd
#	listens on $BENCH_ADDR, and a client that connects to an address of lo
#	gets that address as its source, so Postfix and the milters see a
#	non-loopback client (the anchors skip loopback clients, and libspf2
#	passes them without a lookup) - smtp-source has no XCLIENT.
#	/etc/resolv.conf is bind-mounted to "nameserver 127.0.0.1" and nsd
#	serves the benchmark zones on 127.0.0.1:53, so every resolver (glibc,
#	libunbound in opendkim, mailwarden's dns_servers) asks it.
# Ports stay below 32768: a listening port inside the kernel's ephemeral
# range (32768-60999) can be taken by the TIME_WAIT of one of the
# thousands of client connections a run makes, and bind() then fails even
# with SO_REUSEADDR.
#
# CPU accounting: each process group (Postfix instance, each milter, Redis,
# nsd, the load tools) runs in its own cgroup; its CPU time (user+system,
# exited children included) is read from cpu.stat (cgroup v2) or
# cpuacct.usage (v1) before and after a run.

BENCH_ADDR=192.0.2.25
# The sending domain. Not *.test: libunbound (in opendkim) answers NXDOMAIN for
# test. by itself (RFC 6761 default local zone), and the way around that
# (ResolverConfiguration) crashes opendkim under concurrent load.
BENCH_DOMAIN=example.net
BENCH_SINK_PORT=2600		# counting sink: every benchmark message
BENCH_PROBE_PORT=2601		# dumping sink: probe messages only
BENCH_ARCH_PORT=2602		# counting sink: archive BCC copies
BENCH_SMTP_BASE=2500		# smtpd of scenario i: BASE + i
BENCH_MILTER_BASE=2700		# milter instance j: BASE + j
BENCH_REDIS_PORT=6379
BENCH_PIDS=()

# bench_die - say why and stop the whole benchmark
bench_die() {
	echo "FAIL: $*" >&2
	exit 1
}

# bench_netns - inside the namespaces: lo, the client address, resolv.conf
bench_netns() {
	ip link set lo up || bench_die "cannot bring lo up in the network namespace"
	ip addr add "$BENCH_ADDR/32" dev lo || bench_die "cannot add $BENCH_ADDR to lo"
	printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n' >"$W/resolv.conf"
	mount --bind "$W/resolv.conf" /etc/resolv.conf ||
		bench_die "cannot bind-mount resolv.conf in the mount namespace"
}

# --- cgroups ------------------------------------------------------------

# bench_cg_init - a cgroup tree of our own: v2 (unified) or v1 cpuacct
bench_cg_init() {
	local v2=/sys/fs/cgroup/unified
	[ -f /sys/fs/cgroup/cgroup.controllers ] && v2=/sys/fs/cgroup
	BENCH_CG="$v2/mwbench.$$"
	BENCH_CG_FILE=cpu.stat
	if ! mkdir "$BENCH_CG" 2>/dev/null || [ ! -f "$BENCH_CG/cpu.stat" ]; then
		rmdir "$BENCH_CG" 2>/dev/null
		BENCH_CG="/sys/fs/cgroup/cpuacct/mwbench.$$"
		BENCH_CG_FILE=cpuacct.usage
		mkdir "$BENCH_CG" 2>/dev/null ||
			bench_die "no writable cgroup (v2 cpu.stat or v1 cpuacct): CPU per process cannot be measured"
	fi
	BENCH_CG_KIND=$([ "$BENCH_CG_FILE" = cpu.stat ] && echo "cgroup v2 cpu.stat" || echo "cgroup v1 cpuacct.usage")
}

# bench_cg_new NAME - a child cgroup for one process group
bench_cg_new() {
	mkdir -p "$BENCH_CG/$1"
}

# bench_cg_enter NAME - move the calling (sub)shell into cgroup NAME
bench_cg_enter() {
	echo "$BASHPID" >"$BENCH_CG/$1/cgroup.procs"
}

# bench_cg_usec NAME - CPU microseconds used in cgroup NAME so far
bench_cg_usec() {
	local k v
	if [ "$BENCH_CG_FILE" = cpu.stat ]; then
		while read -r k v; do
			[ "$k" = usage_usec ] && { echo "$v"; return; }
		done <"$BENCH_CG/$1/cpu.stat"
		echo 0
	else
		read -r v <"$BENCH_CG/$1/cpuacct.usage"
		echo $((v / 1000))
	fi
}

# bench_cg_cleanup - remove our cgroups (once their processes are gone)
bench_cg_cleanup() {
	local d i
	[ -n "${BENCH_CG:-}" ] && [ -d "$BENCH_CG" ] || return 0
	for i in $(seq 1 50); do
		for d in "$BENCH_CG"/*/; do
			[ -d "$d" ] && rmdir "$d" 2>/dev/null
		done
		rmdir "$BENCH_CG" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "warning: cgroup $BENCH_CG still has processes" >&2
}

# bench_spawn CGROUP LOG CMD... - start CMD in the background in CGROUP
bench_spawn() {
	local cg=$1 log=$2
	shift 2
	bench_cg_new "$cg"
	(bench_cg_enter "$cg" && exec "$@") >>"$log" 2>&1 </dev/null &
	BENCH_LAST_PID=$!
	BENCH_PIDS+=("$!")
}

# bench_stop_all - TERM every process we started, at once; KILL after 10 s
bench_stop_all() {
	local pid i alive
	for pid in "${BENCH_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for i in $(seq 1 100); do
		alive=
		for pid in "${BENCH_PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for pid in "${BENCH_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	BENCH_PIDS=()
}

# --- DNS --------------------------------------------------------------------

# bench_txt NAME VALUE - a zone TXT record, split into 250-byte strings
bench_txt() {
	local name=$1 v=$2 out=
	while [ -n "$v" ]; do
		out="$out \"${v:0:250}\""
		v=${v:250}
	done
	echo "$name IN TXT ($out )"
}

# bench_keys - RSA-2048 and Ed25519 keys of $BENCH_DOMAIN in $W/keys
bench_keys() {
	mkdir -p "$W/keys"
	chmod 700 "$W/keys"
	openssl genrsa -out "$W/keys/rsa.pem" 2048 2>/dev/null || bench_die "openssl genrsa"
	openssl genpkey -algorithm ed25519 -out "$W/keys/ed.pem" 2>/dev/null ||
		bench_die "openssl genpkey ed25519"
	chmod 600 "$W/keys"/*.pem
	BENCH_RSA_PUB=$(openssl rsa -in "$W/keys/rsa.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
	BENCH_ED_PUB=$(openssl pkey -in "$W/keys/ed.pem" -pubout -outform DER | tail -c 32 | base64 -w0)
}

# bench_zones - $BENCH_DOMAIN (SPF, DMARC p=reject, the two DKIM keys), its parent
bench_zones() {
	local z="$W/zones"
	mkdir -p "$z"
	cat >"$z/$BENCH_DOMAIN.zone" <<EOF
\$TTL 3600
@ IN SOA ns.$BENCH_DOMAIN. hostmaster.$BENCH_DOMAIN. 1 3600 600 86400 300
@ IN NS ns.$BENCH_DOMAIN.
ns IN A 127.0.0.1
@ IN MX 10 mail.$BENCH_DOMAIN.
mail IN A $BENCH_ADDR
client IN A $BENCH_ADDR
@ IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
client IN TXT "v=spf1 a -all"
_dmarc IN TXT "v=DMARC1; p=reject; adkim=r; aspf=r"
$(bench_txt rsa._domainkey "v=DKIM1; k=rsa; p=$BENCH_RSA_PUB")
$(bench_txt ed._domainkey "v=DKIM1; k=ed25519; p=$BENCH_ED_PUB")
EOF
	cat >"$z/${BENCH_DOMAIN#*.}.zone" <<EOF
\$TTL 3600
@ IN SOA ns.$BENCH_DOMAIN. hostmaster.$BENCH_DOMAIN. 1 3600 600 86400 300
@ IN NS ns.$BENCH_DOMAIN.
EOF
	(cat /usr/share/publicsuffix/public_suffix_list.dat 2>/dev/null ||
		cat /usr/share/publicsuffix/effective_tld_names.dat; echo test) >"$W/psl.dat"
}

# bench_dns_start - nsd on 127.0.0.1:53 (UDP and TCP) serving $W/zones
bench_dns_start() {
	local zd="$W/zones" f name i
	mkdir -p "$W/nsd"
	cat >"$W/nsd/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@53
    port: 53
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
    verbosity: 0
remote-control:
    control-enable: no
EOF
	for f in "$zd"/*.zone; do
		name=$(basename "$f" .zone)
		nsd-checkzone "$name" "$f" >/dev/null || bench_die "zone $name: $(nsd-checkzone "$name" "$f" 2>&1)"
		printf 'zone:\n    name: "%s"\n    zonefile: "%s"\n' "$name" "$f" >>"$W/nsd/nsd.conf"
	done
	bench_spawn dns "$W/nsd.log" nsd -d -c "$W/nsd/nsd.conf"
	for i in $(seq 1 100); do
		dig +short +time=1 +tries=1 @127.0.0.1 rsa._domainkey.$BENCH_DOMAIN TXT 2>/dev/null |
			grep -q DKIM1 && return 0
		sleep 0.05
	done
	bench_die "nsd does not answer on 127.0.0.1:53 (log: $W/nsd.log)"
}

# --- Postfix and the sinks ------------------------------------------------

# bench_sink_start NAME PORT [ARGS...] - smtp-sink; counters in $W/NAME.count
bench_sink_start() {
	local name=$1 port=$2
	shift 2
	bench_spawn load "$W/$name.count" smtp-sink -u nobody -c "$@" "127.0.0.1:$port" 256
	mw_wait_port "$port" 10 || bench_die "smtp-sink $name did not listen on $port"
}

# bench_sink_count NAME - messages the counting sink NAME received so far
bench_sink_count() {
	local last
	last=$(tail -c 120 "$W/$1.count" 2>/dev/null | tr '\r' '\n' | grep mesg= | tail -n 1)
	last=${last##*mesg=}
	echo "${last:-0}"
}

# bench_postfix_main - main.cf: relay all to the counting sink, probes and
# archive copies to their own sinks; no milter unless a listener says so
bench_postfix_main() {
	cat >"$BENCH_PFC/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $BENCH_PF/queue
data_directory = $BENCH_PF/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination =
local_recipient_maps =
relay_domains =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1, $BENCH_ADDR
inet_protocols = ipv4
mynetworks = 127.0.0.0/8, 192.0.2.0/24
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
relayhost = [127.0.0.1]:$BENCH_SINK_PORT
transport_maps = inline:{probe.example.org=relay:[127.0.0.1]:$BENCH_PROBE_PORT, archive.example.org=relay:[127.0.0.1]:$BENCH_ARCH_PORT}
smtp_dns_support_level = disabled
smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 10s
milter_command_timeout = 60s
milter_content_timeout = 120s
maillog_file = $W/postfix.log
maillog_file_prefixes = $W
delay_warning_time = 0h
biff = no
EOF
}

# bench_postfix_master - every service unchrooted; one smtpd per scenario
bench_postfix_master() {
	local i=0 s
	: >"$BENCH_PFC/master.cf"
	for s in "${BENCH_SCENARIOS[@]}"; do
		printf '%s:%d inet n - n - - smtpd -o smtpd_milters=%s\n' "$BENCH_ADDR" \
			$((BENCH_SMTP_BASE + i)) "$(bench_milter_list "$s")" >>"$BENCH_PFC/master.cf"
		i=$((i + 1))
	done
	mw_postfix_services 60 >>"$BENCH_PFC/master.cf"
}

# bench_postfix_start - the private instance, in cgroup "postfix"
bench_postfix_start() {
	BENCH_PF="$W/pf"
	BENCH_PFC="$BENCH_PF/conf"
	mkdir -p "$BENCH_PFC" "$BENCH_PF/queue" "$BENCH_PF/data"
	chown postfix "$BENCH_PF/data"
	bench_postfix_main
	bench_postfix_master
	bench_cg_new postfix
	if ! (bench_cg_enter postfix && exec postfix -c "$BENCH_PFC" start) >>"$W/postfix-start.log" 2>&1; then
		script -qec "postfix -c $BENCH_PFC check" /dev/null >&2
		bench_die "postfix did not start: $(cat "$W/postfix-start.log")"
	fi
	BENCH_PF_MASTER=$(tr -d ' ' <"$BENCH_PF/queue/pid/master.pid")
	BENCH_PIDS+=("$BENCH_PF_MASTER")
	mw_wait_port_at "$BENCH_ADDR" "$BENCH_SMTP_BASE" 10 || bench_die "Postfix smtpd does not listen"
}

# mw_wait_port_at ADDR PORT SECONDS - wait until ADDR:PORT accepts TCP
mw_wait_port_at() {
	local i
	for i in $(seq 1 $(($3 * 20))); do
		(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# bench_postfix_queue - messages in the private Postfix's queues now
bench_postfix_queue() {
	find "$BENCH_PF/queue/incoming" "$BENCH_PF/queue/active" "$BENCH_PF/queue/deferred" \
		"$BENCH_PF/queue/hold" "$BENCH_PF/queue/maildrop" -type f 2>/dev/null | wc -l
}

# bench_pid_hwm PID - peak resident set of PID, kB (VmHWM); "-" when gone
bench_pid_hwm() {
	local k v u
	while read -r k v u; do
		[ "$k" = VmHWM: ] && { echo "$v"; return; }
	done <"/proc/$1/status" 2>/dev/null
	echo -
}
