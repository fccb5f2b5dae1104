# scenarios.sh - the milters of each scenario, the runs, the report
# (sourced by bench/run.sh, after lib.sh; see run.sh for the scenario table).

# --- which scenarios can run -------------------------------------------------

# stage_built STAGE - the stage is registered in src/pipeline.c
stage_built() {
	grep -Eq "\[MW_STAGE_$1\][[:space:]]*=[[:space:]]*&" "$MW_SRCDIR/src/pipeline.c"
}

# scen_missing S - the words of the stages S needs that are not built
scen_missing() {
	local st out=
	for st in ${NEED[$1]}; do
		stage_built "$st" || out="${out:+$out, }${STAGE_WORD[$st]}"
	done
	echo "$out"
}

# bench_select - BENCH_SCENARIOS (runnable) and SKIPPED[s] (why not)
bench_select() {
	local s list m
	declare -gA SKIPPED=() FAILED=()
	BENCH_SCENARIOS=()
	if [ -n "$ONLY" ]; then
		IFS=, read -r -a list <<<"$ONLY"
	else
		list=("${ALL[@]}")
	fi
	for s in "${list[@]}"; do
		[ -n "${DESC[$s]:-}" ] || bench_die "no scenario \"$s\" (bench/run.sh -L lists them)"
		m=$(scen_missing "$s")
		if [ -n "$m" ]; then
			SKIPPED[$s]="SKIPPED: $m not built (src/pipeline.c)"
		else
			BENCH_SCENARIOS+=("$s")
		fi
	done
}

# --- milter instances ----------------------------------------------------------

# bench_instances - MSOCK[instance] (libmilter form) and MPF[instance]
# (Postfix form) for every milter the scenarios use: unix sockets, or TCP
# with -T (libmilter does not set TCP_NODELAY: a milter that answers with two
# packets waits out the MTA's delayed ACK, about 40 ms, see the README)
bench_instances() {
	local s m j=0
	declare -gA MSOCK=() MPF=() MPID=()
	INSTANCES=()
	mkdir -p "$W/sock"
	for s in "${BENCH_SCENARIOS[@]}"; do
		for m in ${MILTERS[$s]}; do
			[ -n "${MSOCK[$m]:-}" ] && continue
			if [ -n "$TCP" ]; then
				MSOCK[$m]="inet:$((BENCH_MILTER_BASE + j))@127.0.0.1"
				MPF[$m]="inet:127.0.0.1:$((BENCH_MILTER_BASE + j))"
			else
				MSOCK[$m]="unix:$W/sock/$m.sock"
				MPF[$m]=${MSOCK[$m]}
			fi
			INSTANCES+=("$m")
			j=$((j + 1))
		done
	done
}

# bench_milter_list S - smtpd_milters of scenario S, comma-separated
bench_milter_list() {
	local m out=
	for m in ${MILTERS[$1]}; do
		out="${out:+$out,}${MPF[$m]}"
	done
	echo "$out"
}

# wait_milter M - until milter instance M accepts connections
wait_milter() {
	local i s=${MSOCK[$1]}
	for i in $(seq 1 400); do
		kill -0 "${MPID[$1]}" 2>/dev/null || return 1
		case $s in
		unix:*) [ -S "${s#unix:}" ] && return 0 ;;
		inet:*) s=${s#inet:} && (exec 3<>"/dev/tcp/127.0.0.1/${s%@*}") 2>/dev/null && return 0 ;;
		esac
		sleep 0.05
	done
	return 1
}

# mw_conf_common SOCKET - what every mailwarden scenario shares
mw_conf_common() {
	cat <<EOF
socket = "$1"
pid_file = ""
user = ""
umask = 0
dns_servers = {127.0.0.1:53}
authserv_id = "mx.example.test"
public_suffix_list = "$W/psl.dat"
EOF
}

# mw_conf_body NAME - the scenario's own part of its mailwarden.conf
mw_conf_body() {
	local rsa="key \"rsa\" { file = \"$W/keys/rsa.pem\" }"
	local ed="key \"ed\" { file = \"$W/keys/ed.pem\" }"
	case $1 in
	mw-rsa | mw-ed | mw-both)
		echo 'internal_hosts = {127.0.0.0/8, 192.0.2.0/24}'
		echo "sign \"$BENCH_DOMAIN\" {"
		[ "$1" != mw-ed ] && echo "    $rsa"
		[ "$1" != mw-rsa ] && echo "    $ed"
		echo '}'
		;;
	mw-in)
		echo 'internal_hosts = {127.0.0.0/8}'
		;;
	mw-all-mem | mw-all-redis | mw-in-rl | mw-in-bcc | mw-in-journal)
		echo 'internal_hosts = {127.0.0.0/8}'
		[ "$1" = mw-all-redis ] && printf 'ratelimit_store = "redis"\nredis_server = "127.0.0.1:%s"\n' "$BENCH_REDIS_PORT"
		case $1 in mw-all-* | mw-in-rl) mw_conf_limits ;; esac
		case $1 in mw-all-* | mw-in-bcc | mw-in-journal) mw_conf_archive "$1" ;; esac
		;;
	esac
}

# mw_conf_limits - two rate-limit rules that count every message, never bite
mw_conf_limits() {
	cat <<EOF
ratelimit "per-client" {
    key = {client_ip}
    rate = 100000000
    period = 3600
}
ratelimit "per-sender" {
    key = {sender}
    count = recipients
    rate = 100000000
    period = 3600
}
EOF
}

# mw_conf_archive NAME - archive every message: BCC copy, journal, or both
mw_conf_archive() {
	echo "journal_dir = \"$W/journal\""
	echo 'archive "all" {'
	[ -n "${BCC[$1]}" ] && echo '    bcc = {archive@archive.example.org}'
	[ -n "${JOURNAL[$1]}" ] && echo '    journal = yes'
	echo '}'
}

# od_conf NAME SOCKET - opendkim's configuration for instance NAME
od_conf() {
	cat <<EOF
Socket ${2/#unix:/local:}
Background no
Syslog yes
Nameservers 127.0.0.1
Canonicalization relaxed/relaxed
AuthservID mx.example.test
UMask 000
RequireSafeKeys false
EOF
	case $1 in
	od-rsa | od-ed)
		local k=${1#od-}
		printf 'Mode s\nDomain %s\nSelector %s\nKeyFile %s\n' "$BENCH_DOMAIN" "$k" "$W/keys/$k.pem"
		printf 'SignatureAlgorithm %s\n' "$([ "$k" = rsa ] && echo rsa-sha256 || echo ed25519-sha256)"
		echo "InternalHosts 127.0.0.1, 192.0.2.0/24"
		;;
	od-verify)
		printf 'Mode v\nInternalHosts 127.0.0.1\nQueryCache yes\n'
		;;
	esac
}

# odmarc_conf SOCKET - opendmarc after opendkim: trusts its results, does SPF
odmarc_conf() {
	cat <<EOF
Socket ${1/#unix:/local:}
UMask 000
Background false
Syslog true
AuthservID mx.example.test
TrustedAuthservIDs mx.example.test
PublicSuffixList $W/psl.dat
SPFSelfValidate true
SPFIgnoreResults true
EOF
}

# instance_start NAME - start milter instance NAME in cgroup m-NAME
instance_start() {
	local m=$1 p=${MSOCK[$1]} log="$W/$1.log"
	umask 000	# the milters' sockets: Postfix's smtpd runs as postfix
	case $m in
	null)
		bench_spawn "m-$m" "$log" "$MW_BUILDDIR/bench/nullmilter" -p "$p" ;;
	mw-*)
		{ mw_conf_common "$p"; mw_conf_body "$m"; } >"$W/$m.conf"
		"$MW_BUILDDIR/mailwarden" -n -c "$W/$m.conf" >"$W/$m.check" 2>&1 ||
			bench_die "$m: mailwarden refuses its configuration: $(cat "$W/$m.check")"
		bench_spawn "m-$m" "$log" "$MW_BUILDDIR/mailwarden" -f -c "$W/$m.conf" ;;
	od-*)
				od_conf "$m" "$p" >"$W/$m.conf"
		bench_spawn "m-$m" "$log" opendkim -f -x "$W/$m.conf" ;;
	odmarc)
		odmarc_conf "$p" >"$W/$m.conf"
		bench_spawn "m-$m" "$log" opendmarc -f -c "$W/$m.conf" ;;
	esac
	umask 022
	MPID[$m]=$BENCH_LAST_PID
}

# bench_milters_start - every instance, then wait until each listens
bench_milters_start() {
	local m
	mkdir -p "$W/journal"
	for m in "${INSTANCES[@]}"; do
		[ "$m" = mw-all-redis ] && bench_redis_start
		instance_start "$m"
	done
	for m in "${INSTANCES[@]}"; do
		wait_milter "$m" || bench_die "milter $m does not listen on ${MSOCK[$m]}: $(tail -n 5 "$W/$m.log")"
	done
}

# bench_redis_start - redis-server without persistence, cgroup redis
bench_redis_start() {
	bench_spawn redis "$W/redis.log" redis-server --port "$BENCH_REDIS_PORT" \
		--bind 127.0.0.1 --save "" --appendonly no --daemonize no
	mw_wait_port "$BENCH_REDIS_PORT" 10 || bench_die "redis-server did not start"
	BENCH_REDIS=1
}

# --- one end-to-end run ------------------------------------------------------------

# smtp_port S - the smtpd port of scenario S
smtp_port() {
	local i=0 x
	for x in "${BENCH_SCENARIOS[@]}"; do
		[ "$x" = "$1" ] && { echo $((BENCH_SMTP_BASE + i)); return; }
		i=$((i + 1))
	done
}

# send S N RCPT SESSIONS - smtp-source N messages of S's kind (cgroup load)
send() {
	local s=$1 n=$2 rcpt=$3 sess=$4
	(bench_cg_enter load && exec smtp-source -s "$sess" -m "$n" -F "$W/msg.${MSG[$s]}" \
		-f "alice@$BENCH_DOMAIN" -t "$rcpt" -M "client.$BENCH_DOMAIN" \
		"$BENCH_ADDR:$(smtp_port "$s")") >>"$W/smtp-source.log" 2>&1 && return 0
	WHY="smtp-source failed, Postfix or the milter refused mail: $(tail -n 2 "$W/smtp-source.log" | tr '\n' ' ')"
	return 1
}

# wait_count SINK TARGET SECONDS - until the counting sink reaches TARGET
wait_count() {
	local i
	for i in $(seq 1 $(($3 * 50))); do
		[ "$(bench_sink_count "$1")" -ge "$2" ] && return 0
		sleep 0.02
	done
	return 1
}

# wait_quiet - until Postfix's queue is empty
wait_quiet() {
	local i
	for i in $(seq 1 1500); do
		[ "$(bench_postfix_queue)" = 0 ] && return 0
		sleep 0.02
	done
	WHY="Postfix's queue does not drain ($(bench_postfix_queue) left; $W/postfix.log)"
	return 1
}

# scen_fail S - scenario S failed for $WHY: say so loudly, drop it from the
# later rounds, and empty Postfix's queue for the next scenario
scen_fail() {
	FAILED[$1]="FAILED: $WHY"
	BENCH_FAILED=1
	echo "FAIL: $1: $WHY" >&2
	postsuper -c "$BENCH_PFC" -d ALL >/dev/null 2>&1
	sleep 1
}

# probe_file N - wait until the probe sink holds N complete dumps; print the newest
probe_file() {
	local i f
	for i in $(seq 1 500); do
		if [ "$(ls -1 "$W/probe" | wc -l)" -ge "$1" ]; then
			f="$W/probe/$(ls -1t "$W/probe" | head -n 1)"
			if [ "$(tail -c 2 "$f" | od -An -c | tr -d ' ')" = '\n\n' ]; then
				echo "$f"
				return 0
			fi
		fi
		sleep 0.02
	done
	return 1
}

# probe_check FILE KIND ARGS... - bench.py's check of the delivered probe
probe_check() {
	local f=$1 kind=$2
	shift 2
	case $kind in
	sign) $PY "$BENCH_DIR/bench.py" sign 53 "$f" "$@" ;;
	*) $PY "$BENCH_DIR/bench.py" "$kind" "$f" "$@" ;;
	esac
}

# probe S - one message through S; 1 (with WHY) unless the work was done
probe() {
	local s=$1 f a0 j0 out n
	n=$(ls -1 "$W/probe" | wc -l)
	a0=$(bench_sink_count arch)
	j0=$(find "$W/journal" -type f | wc -l)
	send "$s" 1 probe@probe.example.org 1 || return 1
	f=$(probe_file $((n + 1))) || { WHY="the probe message never reached the sink ($W/postfix.log)"; return 1; }
	out=$(probe_check "$f" ${CHECK[$s]} 2>&1) || { WHY="probe: $out (message: $f)"; return 1; }
	if [ -n "${BCC[$s]}" ]; then
		wait_count arch $((a0 + 1)) 20 || { WHY="probe: no archive BCC copy arrived"; return 1; }
		out="$out; BCC copy delivered"
	fi
	if [ -n "${JOURNAL[$s]}" ]; then
		[ "$(find "$W/journal" -type f | wc -l)" -gt "$j0" ] ||
			{ WHY="probe: nothing was written to the journal ($W/journal)"; return 1; }
		out="$out; journal written"
	fi
	PROBE_OUT="$out"
}

# cpu_snapshot S - CPU µs so far of every group the report shows, into CPU_*
cpu_snapshot() {
	local m
	CPU_PF=$(bench_cg_usec postfix)
	CPU_M=()
	for m in ${MILTERS[$1]}; do CPU_M+=("$(bench_cg_usec "m-$m")"); done
	CPU_REDIS=$([ -n "${BENCH_REDIS:-}" ] && bench_cg_usec redis || echo 0)
	CPU_DNS=$(bench_cg_usec dns)
	CPU_LOAD=$(bench_cg_usec load)
}

# ms_per USEC0 USEC1 - CPU ms per message from two snapshots
ms_per() {
	awk -v a="$1" -v b="$2" -v n="$COUNT" 'BEGIN { printf "%.3f", (b - a) / 1000 / n }'
}

# warm_up S - WARMUP messages, all delivered, queue empty
warm_up() {
	local c0
	c0=$(bench_sink_count sink)
	if [ "$WARMUP" -gt 0 ]; then
		send "$1" "$WARMUP" bob@example.org "$SESSIONS" || return 1
		wait_count sink $((c0 + WARMUP)) 120 || { WHY="warm-up mail did not all arrive"; return 1; }
	fi
	wait_quiet
}

# measure S R - COUNT messages, timed until the sink has them all
measure() {
	local s=$1 r=$2 c0 a0 t0 t1 i parts= sum=0 v pf0 m0 rd0 dn0 ld0
	c0=$(bench_sink_count sink)
	a0=$(bench_sink_count arch)
	cpu_snapshot "$s"
	pf0=$CPU_PF
	m0=("${CPU_M[@]}")
	rd0=$CPU_REDIS
	dn0=$CPU_DNS
	ld0=$CPU_LOAD
	t0=$EPOCHREALTIME
	send "$s" "$COUNT" bob@example.org "$SESSIONS" || return 1
	wait_count sink $((c0 + COUNT)) $((COUNT / 20 + 60)) ||
		{ WHY="only $(($(bench_sink_count sink) - c0)) of $COUNT messages arrived"; return 1; }
	t1=$EPOCHREALTIME
	if [ -n "${BCC[$s]}" ]; then
		wait_count arch $((a0 + COUNT)) 60 ||
			{ WHY="only $(($(bench_sink_count arch) - a0)) of $COUNT archive copies arrived"; return 1; }
	fi
	cpu_snapshot "$s"
	R_RATE[$s,$r]=$(awk -v n="$COUNT" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
	R_PF[$s,$r]=$(ms_per "$pf0" "$CPU_PF")
	for i in "${!m0[@]}"; do
		v=$(ms_per "${m0[$i]}" "${CPU_M[$i]}")
		parts="${parts:+$parts + }$v"
		sum=$(awk -v a="$sum" -v b="$v" 'BEGIN { printf "%.3f", a + b }')
	done
	R_M[$s,$r]=${parts:--}
	R_REDIS[$s,$r]=$(ms_per "$rd0" "$CPU_REDIS")
	R_DNS[$s,$r]=$(ms_per "$dn0" "$CPU_DNS")
	# everything the box spent per message: Postfix, milters, Redis, nsd, load
	R_TOT[$s,$r]=$(awk -v a="$sum" -v b="${R_PF[$s,$r]}" -v c="${R_REDIS[$s,$r]}" \
		-v d="${R_DNS[$s,$r]}" -v e="$(ms_per "$ld0" "$CPU_LOAD")" 'BEGIN { printf "%.3f", a + b + c + d + e }')
	if [ -n "${MILTERS[$s]}" ] && awk -v x="$sum" 'BEGIN { exit !(x < 0.02) }'; then
		WHY="the milter used $sum ms CPU per message: it did no work"
		return 1
	fi
}

# run_e2e S REP - probe, warm up, measure; results into R_*[S,REP]
run_e2e() {
	local s=$1 r=$2 mark bad
	mark=$(wc -l <"$W/postfix.log")
	probe "$s" && warm_up "$s" && measure "$s" "$r" && wait_quiet || { scen_fail "$s"; return 1; }
	bad=$(tail -n +"$((mark + 1))" "$W/postfix.log" |
		grep -E 'warning: milter|status=(deferred|bounced)' | head -n 2)
	if [ -n "$bad" ]; then
		WHY="Postfix logged milter warnings or undelivered mail: $bad"
		scen_fail "$s"
		return 1
	fi
	printf '  run %d %-13s %8s msgs/s  milter %s ms/msg  Postfix %s ms/msg  (%s)\n' "$r" "$s" \
		"${R_RATE[$s,$r]}" "${R_M[$s,$r]}" "${R_PF[$s,$r]}" "$PROBE_OUT"
}

# --- figures ---------------------------------------------------------------------

# median VALUES... - the median (mean of the middle two when even)
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# field_median ARRAY S - median over the repetitions of ARRAY[S,r]
field_median() {
	local -n arr=$1
	local r vals=()
	for r in $(seq 1 "$REPS"); do vals+=("${arr[$2,$r]}"); done
	median "${vals[@]}"
}

# ratio_median S BASE - median over repetitions of rate(S)/rate(BASE), same rep
ratio_median() {
	local r vals=()
	for r in $(seq 1 "$REPS"); do
		[ -n "${R_RATE[$2,$r]:-}" ] || { echo "-"; return; }
		vals+=("$(awk -v a="${R_RATE[$1,$r]}" -v b="${R_RATE[$2,$r]}" 'BEGIN { printf "%.4f", a / b }')")
	done
	median "${vals[@]}" | awk '{ printf "%.2f", $1 }'
}

# cpu_ratio_median S BASE - median over rounds of total CPU(BASE)/CPU(S):
# on a CPU-bound box the throughput ratio, with much less noise
cpu_ratio_median() {
	local r vals=()
	for r in $(seq 1 "$REPS"); do
		[ -n "${R_TOT[$2,$r]:-}" ] || { echo "-"; return; }
		vals+=("$(awk -v a="${R_TOT[$1,$r]}" -v b="${R_TOT[$2,$r]}" 'BEGIN { printf "%.4f", b / a }')")
	done
	median "${vals[@]}" | awk '{ printf "%.2f", $1 }'
}

# milter_parts_median S - per-instance medians, "a + b" for a chain
milter_parts_median() {
	local s=$1 r i n vals parts=
	n=$(echo "${MILTERS[$s]}" | wc -w)
	[ "$n" = 0 ] && { echo "-"; return; }
	for i in $(seq 1 "$n"); do
		vals=()
		for r in $(seq 1 "$REPS"); do
			vals+=("$(echo "${R_M[$s,$r]}" | awk -F' \\+ ' -v i="$i" '{ print $i }')")
		done
		parts="${parts:+$parts + }$(median "${vals[@]}" | awk '{ printf "%.2f", $1 }')"
	done
	echo "$parts"
}

# hwm_of S - the scenario's milter peak RSS, MB ("a + b" for a chain)
hwm_of() {
	local m out= k
	for m in ${MILTERS[$1]}; do
		k=$(bench_pid_hwm "${MPID[$m]}")
		out="${out:+$out + }$([ "$k" = - ] && echo - || awk -v k="$k" 'BEGIN { printf "%.1f", k / 1024 }')"
	done
	echo "${out:--}"
}

# machine - one line about the box and its load
machine() {
	echo "$(nproc) CPU ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# report_e2e - the figures table of the end-to-end runs
report_e2e() {
	local s rates r lo hi ROW='| %-50s | %-14s | %-6s | %-5s | %-9s | %-15s | %-10s | %-5s | %-5s | %-13s |\n'
	echo
	echo "mailwarden benchmark, end to end: smtp-source -> Postfix $(postconf -d -h mail_version) -> smtp-sink"
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(machine)"
	echo "$SIZE-byte message, $SESSIONS sessions, $COUNT messages per run after $WARMUP warm-up and 1 probe, $REPS runs per scenario interleaved; median (min-max); ratios are medians of same-round ratios; CPU/floor: the floor's CPU per message (everything: Postfix, milters, Redis, nsd, smtp-source/sink) over the scenario's; CPU from $BENCH_CG_KIND; milters on $([ -n "$TCP" ] && echo TCP || echo unix) sockets$([ -n "$UNFOLD" ] && echo "; -U: the inbound message's DKIM-Signature unfolded")"
	echo
	printf "$ROW" scenario "msgs/s" "/floor" "/ceil" "CPU/floor" "milter CPU ms" "Postfix ms" "Redis" "DNS" "milter RSS MB"
	printf "$ROW" "$(printf -- '-%.0s' {1..50})" "$(printf -- '-%.0s' {1..14})" ------ ----- \
		--------- --------------- ---------- ----- ----- -------------
	for s in "${ALL[@]}" "${EXTRA[@]}"; do
		if [ -n "${SKIPPED[$s]:-}${FAILED[$s]:-}" ]; then
			printf '| %-50s | %s |\n' "${DESC[$s]}" "${SKIPPED[$s]:-}${FAILED[$s]:-}"
			continue
		fi
		[ -n "${R_RATE[$s,1]:-}" ] || continue
		rates=()
		for r in $(seq 1 "$REPS"); do rates+=("${R_RATE[$s,$r]}"); done
		lo=$(printf '%s\n' "${rates[@]}" | sort -g | head -n 1)
		hi=$(printf '%s\n' "${rates[@]}" | sort -g | tail -n 1)
		printf "$ROW" "${DESC[$s]}" \
			"$(field_median R_RATE "$s" | awk '{ printf "%.0f", $1 }') ($(printf '%.0f' "$lo")-$(printf '%.0f' "$hi"))" \
			"$(ratio_median "$s" null)" "$(ratio_median "$s" pf)" "$(cpu_ratio_median "$s" null)" \
			"$(milter_parts_median "$s")" \
			"$(field_median R_PF "$s" | awk '{ printf "%.2f", $1 }')" \
			"$([ "$s" = mw-all-redis ] && field_median R_REDIS "$s" | awk '{ printf "%.2f", $1 }' || echo -)" \
			"$(field_median R_DNS "$s" | awk '{ printf "%.2f", $1 }')" "$(hwm_of "$s")"
	done
}

# --- modes ---------------------------------------------------------------------------

# bench_setup - namespaces, cgroups, keys, zones, nsd, messages, sinks, Postfix, milters
bench_setup() {
	bench_netns
	bench_cg_init
	bench_cg_new load
	bench_keys
	bench_zones
	bench_dns_start
	$PY "$BENCH_DIR/bench.py" mkmsg "$SIZE" "$W/msg.plain" "$BENCH_DOMAIN" ||
		bench_die "cannot make the message"
	$PY "$BENCH_DIR/bench.py" mkmsg "$SIZE" "$W/msg.signed" "$BENCH_DOMAIN" "$W/keys/rsa.pem" rsa $UNFOLD ||
		bench_die "cannot sign the inbound message"
	bench_instances
	bench_milters_start
}

# mode_postfix - the end-to-end benchmark
mode_postfix() {
	local r s
	mkdir -p "$W/probe"
	chown nobody "$W/probe"
	bench_sink_start sink "$BENCH_SINK_PORT"
	bench_sink_start arch "$BENCH_ARCH_PORT"
	bench_sink_start probe "$BENCH_PROBE_PORT" -d "$W/probe/msg."
	bench_postfix_start
	declare -gA R_RATE=() R_PF=() R_M=() R_REDIS=() R_DNS=() R_TOT=()
	for r in $(seq 1 "$REPS"); do
		echo "round $r of $REPS"
		for s in "${BENCH_SCENARIOS[@]}"; do
			[ -z "${FAILED[$s]:-}" ] && run_e2e "$s" "$r"
		done
	done
	report_e2e | tee "$MW_BUILDDIR/bench/results.txt"
}

# gen_args S - miltergen's options for scenario S (message, direction, checks)
gen_args() {
	local a="-f $W/msg.${MSG[$1]} -a $BENCH_ADDR -N client.$BENCH_DOMAIN -h client.$BENCH_DOMAIN -F alice@$BENCH_DOMAIN"
	case ${CHECK[$1]} in
	sign*) a="$a -e DKIM-Signature" ;;
	authres*) a="$a -e Authentication-Results" ;;
	esac
	[ -n "${BCC[$1]}" ] && a="$a -E"
	echo "$a"
}

# milter_check S - the probe check in milter mode: the chain's first milter
# alone for od-dmarc (opendmarc needs opendkim's result from an MTA)
milter_check() {
	if [ "$1" = od-dmarc ]; then
		echo "authres mx.example.test dkim=pass"
	else
		echo "${CHECK[$1]}"
	fi
}

# milter_desc S - the scenario's name when there is no Postfix
milter_desc() {
	case $1 in
	null) echo "nullmilter (floor)" ;;
	od-dmarc) echo "opendkim verifying (opendmarc needs an MTA)" ;;
	*) echo "${DESC[$1]}" ;;
	esac
}

# mode_milter - miltergen straight to each milter (no MTA)
mode_milter() {
	local s m out c=${CONC:-10} r
	echo "mailwarden benchmark, milter protocol: bench/miltergen -> milter, $c sessions, $COUNT messages after $WARMUP warm-up, $SIZE-byte message, $([ -n "$TCP" ] && echo TCP || echo unix) sockets$([ -n "$UNFOLD" ] && echo "; -U: the inbound message's DKIM-Signature unfolded")"
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(machine)"
	printf '| %-50s | %-8s | %-7s | %-7s | %-13s | %-13s |\n' scenario "msgs/s" "p50 ms" "p99 ms" "milter CPU ms" "milter RSS MB"
	for s in "${ALL[@]}" "${EXTRA[@]}"; do
		[ -n "${SKIPPED[$s]:-}" ] && { printf '| %-50s | %s |\n' "$(milter_desc "$s")" "${SKIPPED[$s]}"; continue; }
		printf '%s\n' "${BENCH_SCENARIOS[@]}" | grep -qx "$s" || continue
		m=${MILTERS[$s]}
		case $s in pf) continue ;; od-dmarc) m=od-verify ;; esac
		out=$("$MW_BUILDDIR/bench/miltergen" -n 1 -c 1 -o "$W/probe-$s.eml" $(gen_args "$s") \
			"${MSOCK[$m]}" 2>&1) && out=$(probe_check "$W/probe-$s.eml" $(milter_check "$s") 2>&1) ||
			{ WHY="probe: $(echo "$out" | tail -n 3 | tr '\n' ' ')"; FAILED[$s]=1; }
		for r in $(seq 1 "$REPS"); do
			local u0 u1
			[ -n "${FAILED[$s]:-}" ] && break
			u0=$(bench_cg_usec "m-$m")
			out=$("$MW_BUILDDIR/bench/miltergen" -n "$COUNT" -W "$WARMUP" -c "$c" $(gen_args "$s") \
				"${MSOCK[$m]}" 2>&1) || { WHY="miltergen: $(echo "$out" | grep -v '^miltergen: rss' | tail -n 4 | tr '\n' ' ')"; FAILED[$s]=1; break; }
			u1=$(bench_cg_usec "m-$m")
			echo "$out" >>"$W/miltergen.log"
			G_RATE[$s,$r]=$(echo "$out" | sed -n 's/.*msgs_per_s=\([0-9.]*\).*/\1/p')
			G_P50[$s,$r]=$(echo "$out" | sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p')
			G_P99[$s,$r]=$(echo "$out" | sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p')
			G_CPU[$s,$r]=$(awk -v a="$u0" -v b="$u1" -v n="$((COUNT + WARMUP))" 'BEGIN { printf "%.3f", (b - a) / 1000 / n }')
		done
		if [ -n "${FAILED[$s]:-}" ]; then
			printf '| %-50s | FAILED: %s |\n' "$(milter_desc "$s")" "$WHY"
			BENCH_FAILED=1
			continue
		fi
		printf '| %-50s | %-8.0f | %-7.2f | %-7.2f | %-13.3f | %-13s |\n' "$(milter_desc "$s")" \
			"$(field_median G_RATE "$s")" "$(field_median G_P50 "$s")" "$(field_median G_P99 "$s")" \
			"$(field_median G_CPU "$s")" "$(awk -v k="$(bench_pid_hwm "${MPID[$m]}")" 'BEGIN { printf "%.1f", k / 1024 }')"
	done
}

# mem_summary S START HOLD_OUT LONG_OUT - one line from the two miltergen runs
mem_summary() {
	{ echo "start $2"; echo "$3"; echo "$4" | sed 's/^/long /'; } | awk -v s="$1" -v n="$COUNT" '
		function mb(k) { return sprintf("%.1f MB", k / 1024) }
		/^start / { start = $2 }
		/^miltergen: held / { for (i = 1; i <= NF; i++) if ($i ~ /^rss_kb=/) { held = substr($i, 8) }
			for (i = 1; i <= NF; i++) if ($i ~ /^open=/) open = substr($i, 6) }
		/^miltergen: milter pid=/ && !done1 { for (i = 1; i <= NF; i++) if ($i ~ /^hwm_kb=/) peak = substr($i, 8); done1 = 1 }
		/^long miltergen: rss msgs=/ { split($3, a, "="); for (i = 1; i <= NF; i++) if ($i ~ /^rss_kb=/) r = substr($i, 8)
			if (a[2] >= n / 10 && early == "") early = r; last = r }
		/^long miltergen: milter pid=/ { for (i = 1; i <= NF; i++) { if ($i ~ /^rss_kb=/) last = substr($i, 8); if ($i ~ /^hwm_kb=/) lpeak = substr($i, 8) } }
		END {
			if (early == "") early = last
			flat = (last <= early * 1.10) ? "flat (within 10%)" : sprintf("GROWS %.0f%%", (last / early - 1) * 100)
			printf "%s: RSS after start %s; %s sessions open %s; peak with %s messages at once %s; over %d messages: %s at 10%%, %s at the end (peak %s): %s\n",
				s, mb(start), open, mb(held), open, mb(peak), n, mb(early), mb(last), mb(lpeak), flat }'
}

# mode_memory - RSS with CONC sessions open at once, and over COUNT messages
mode_memory() {
	local s m hold long start c=${CONC:-500}
	echo "mailwarden benchmark, memory: $(date -u '+%Y-%m-%d %H:%M UTC'); $(machine)"
	for s in "${BENCH_SCENARIOS[@]}"; do
		m=${MILTERS[$s]%% *}
		[ -n "$m" ] || continue
		start=$(awk '/^VmRSS:/ { print $2 }' "/proc/${MPID[$m]}/status")
		hold=$("$MW_BUILDDIR/bench/miltergen" -n "$c" -c "$c" -H 5 -T 300 -P "${MPID[$m]}" \
			$(gen_args "$s") "${MSOCK[$m]}" 2>&1) || bench_die "$s: miltergen: $hold"
		long=$("$MW_BUILDDIR/bench/miltergen" -n "$COUNT" -c 10 -P "${MPID[$m]}" \
			$(gen_args "$s") "${MSOCK[$m]}" 2>&1) || bench_die "$s: miltergen: $long"
		{ echo "$hold"; echo "$long"; } >>"$W/miltergen.log"
		mem_summary "$s" "$start" "$hold" "$long"
	done
}

# bench_main - set up, run the mode, report what was skipped
bench_main() {
	bench_select
	[ "$MODE" = memory ] && [ -z "$COUNT_SET" ] && COUNT=100000
	if [ "$MODE" = memory ] && [ -z "$ONLY" ]; then
		BENCH_SCENARIOS=(null)
		for s in mw-all-mem mw-in mw-both mw-rsa; do
			[ -z "${SKIPPED[$s]:-}" ] && { BENCH_SCENARIOS+=("$s"); break; }
		done
	fi
	[ "$MODE" = milter ] && declare -gA G_RATE=() G_P50=() G_P99=() G_CPU=()
	echo "bench: work dir $W; scenarios: ${BENCH_SCENARIOS[*]}"
	for s in "${!SKIPPED[@]}"; do echo "bench: $s: ${SKIPPED[$s]}"; done
	bench_setup
	case $MODE in
	postfix) mode_postfix ;;
	milter) mode_milter > >(tee "$MW_BUILDDIR/bench/results-milter.txt") ;;
	memory) mode_memory > >(tee "$MW_BUILDDIR/bench/results-memory.txt") ;;
	esac
	[ -z "${BENCH_FAILED:-}" ] || { echo "bench: some scenarios FAILED (above)" >&2; return 1; }
}
