# postfix.sh - a private Postfix, smtp-sink and swaks for end-to-end tests.
#
# Needs root (the postfix command refuses others): without it the test is
# SKIPped (77), and in CI (CI=true) it is a hard error (99).
#
# Source it after common.sh, then (a whole feature test):
#	. "$MW_SRCDIR/tests/lib/common.sh"
#	. "$MW_SRCDIR/tests/lib/postfix.sh"
#	mw_init
#	mw_postfix_need                         # root, postfix, smtp-sink, swaks
#	MW_MILTER_PORT=$(mw_port)               # or let mw_mailwarden_start set it
#	cat >"$W/mw.conf" <<EOF ... socket = "inet:$MW_MILTER_PORT@127.0.0.1" ... EOF
#	mw_mailwarden_start "$W/mw.conf"        # sets MW_MILTER_PORT from the socket
#	mw_postfix_start                        # also starts the sink if not started
#	mw_send --from a@example.test --to b@example.org --xclient-addr 192.0.2.10
#	f=$(mw_wait_delivered 1) || mw_fail "not delivered"
#	grep -q '^DKIM-Signature:' "$f"
#
# Functions:
#	mw_postfix_need
#		SKIP/ERROR unless root and postfix, smtp-sink, swaks exist.
#	mw_sink_start
#		smtp-sink on 127.0.0.1:$MW_SINK_PORT. Each message it accepts
#		becomes one file in $MW_SINK_DIR: smtp-sink's envelope lines
#		(X-Client-Addr: 127.0.0.1, X-Helo-Args:, X-Mail-Args: <a>,
#		X-Rcpt-Args: <b> ORCPT=..., one per recipient), its own 3-line
#		"Received: ... (smtp-sink) ..." header, then the message exactly
#		as Postfix relayed it, then one empty line. verify.py's
#		"sinkmsg" command strips the envelope part off.
#	mw_postfix_start [MAIN_CF_LINE...]
#		Private Postfix in $MW_PF_DIR: config $MW_PF_CONF, queue
#		$MW_PF_QUEUE, log file $MW_PF_LOG. smtpd on
#		127.0.0.1:$MW_SMTP_PORT; smtpd_milters = non_smtpd_milters =
#		inet:127.0.0.1:$MW_MILTER_PORT (MW_MILTER_PORT must be set, or
#		"none" for no milter); milter_default_action = tempfail;
#		XCLIENT allowed from 127.0.0.0/8; every message relayed to the
#		sink; retries every second. Each argument is one main.cf line
#		("name = value") and overrides the defaults. Returns when smtpd
#		accepts connections. Stopped at exit by the master's pid.
#	mw_postfix_stop
#		Stop this Postfix now (TERM to its master pid, which takes its
#		children along; waits until the master's process group is
#		gone; KILL to the group after 10 s). Also run at exit.
#	mw_send [SWAKS_OPTION...]
#		swaks to the private Postfix, quiet; output in $W/swaks.N.log.
#		Defaults: --from alice@example.test --to bob@example.org
#		--helo client.example.test, a Subject and a Message-ID; any of
#		them can be given. Client identity through XCLIENT:
#		  --xclient-addr 192.0.2.10   (non-loopback address: SPF, direction)
#		  --xclient-name host.example (default "client.example.test"
#		                               when --xclient-addr is given)
#		  --xclient-login alice       (SASL login: {auth_authen})
#		  --upstream                  (send to the upstream hop below)
#		Returns swaks' status (0: message accepted with 250). The queue
#		ID Postfix gave is in $MW_SENT_QID when the message was accepted.
#		The upstream hop, 127.0.0.1:$MW_UPSTREAM_PORT, is an smtpd of
#		the same Postfix without milter ("upstream.example.test") that
#		queues the message and relays it to $MW_SMTP_PORT: a sending MTA
#		whose queue keeps what mailwarden tempfails and retries it (every
#		1-2 s; mw_postfix_flush: now). Its queue ID is $MW_SENT_QID; the
#		milter sees the second hop's queue ID (mw_sink_qid).
#	mw_send_expect CODE [SWAKS_OPTION...]
#		Like mw_send, but the transaction must be answered with SMTP
#		CODE (e.g. 451, 550, 250) at whatever stage; fails the test
#		otherwise.
#	mw_sendmail [SENDMAIL_ARGS...] <message
#		Submit through Postfix's sendmail/postdrop/pickup (non-SMTP path;
#		non_smtpd_milters apply): message on stdin.
#	mw_wait_delivered COUNT [SECONDS]
#		Wait (default 20 s) until the sink holds at least COUNT complete
#		messages; print their file names, oldest first, one a line.
#		Returns 1 (after printing what there is) on timeout.
#	mw_sink_count
#		Number of complete messages in the sink now.
#	mw_postfix_queue_count
#		Messages in the Postfix queue (incoming, active, deferred, hold,
#		maildrop) now.
#	mw_postfix_flush
#		Ask Postfix to retry deferred mail now (postqueue -f).
#	mw_postfix_log_wait PATTERN [SECONDS]
#		Wait until Postfix's log ($MW_PF_LOG) has a line matching the
#		extended regexp PATTERN.
#	mw_sink_qid FILE
#		Queue ID the private Postfix gave the message in sink FILE (from
#		the Received: header Postfix added; matches mailwarden's log line).

# mw_postfix_need - root and the tools, else SKIP (CI: error)
mw_postfix_need() {
	[ "$(id -u)" = 0 ] || mw_skip "Postfix tests need root (the postfix command refuses others)"
	mw_need postfix smtp-sink swaks postqueue postconf
}

# mw_sink_start - smtp-sink writing one file per message in $MW_SINK_DIR
mw_sink_start() {
	[ -n "${MW_SINK_PID:-}" ] && return 0
	MW_SINK_PORT=$(mw_port)
	MW_SINK_DIR="$W/sink"
	mkdir -p "$MW_SINK_DIR"
	# -u root: same uid as the test, so mw_sink_files can read its open
	# files in /proc even without CAP_SYS_PTRACE (containers).
	smtp-sink -u root -h sink.example.test -d "$MW_SINK_DIR/msg." \
		"127.0.0.1:$MW_SINK_PORT" 64 >>"$W/sink.log" 2>&1 &
	MW_SINK_PID=$!
	mw_track "$MW_SINK_PID"
	mw_wait_port "$MW_SINK_PORT" 10 || mw_fail "smtp-sink did not listen on $MW_SINK_PORT"
}

# mw_postfix_write_main - the private main.cf; extra lines go last and win
mw_postfix_write_main() {
	local milter="inet:127.0.0.1:$MW_MILTER_PORT" line
	[ "$MW_MILTER_PORT" = none ] && milter=
	cat >"$MW_PF_CONF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $MW_PF_QUEUE
data_directory = $MW_PF_DIR/data
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
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = check_client_access static:OK, reject
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_peername_lookup = no
relayhost = [127.0.0.1]:$MW_SINK_PORT
smtp_dns_support_level = disabled
smtpd_milters = $milter
non_smtpd_milters = $milter
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 30s
milter_content_timeout = 60s
maillog_file = $MW_PF_LOG
maillog_file_prefixes = $W
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 0h
biff = no
EOF
	for line in "$@"; do
		printf '%s\n' "$line" >>"$MW_PF_CONF/main.cf"
	done
}

# mw_postfix_services PICKUP_WAKEUP - the master.cf lines of every service
# but smtpd, none chrooted (the bench shares them)
mw_postfix_services() {
	printf 'pickup    unix  n       -       n       %s       1       pickup\n' "$1"
	cat <<'EOF'
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# mw_postfix_write_master - every service unchrooted; smtpd on our port
mw_postfix_write_master() {
	cat >"$MW_PF_CONF/master.cf" <<EOF
127.0.0.1:$MW_SMTP_PORT inet n - n - - smtpd
$(mw_postfix_services 1)
127.0.0.1:$MW_UPSTREAM_PORT inet n - n - - smtpd
  -o myhostname=upstream.example.test
  -o smtpd_milters=
  -o content_filter=hop:[127.0.0.1]:$MW_SMTP_PORT
hop       unix  -       -       n       -       -       smtp
  -o myhostname=upstream.example.test
EOF
}

# mw_postfix_start [MAIN_CF_LINE...] - write the config, start, wait for smtpd
mw_postfix_start() {
	mw_postfix_need
	: "${MW_MILTER_PORT:?mw_postfix_start: set MW_MILTER_PORT (or start mailwarden first)}"
	mw_sink_start
	MW_PF_DIR="$W/pf"
	MW_PF_CONF="$MW_PF_DIR/conf"
	MW_PF_QUEUE="$MW_PF_DIR/queue"
	MW_PF_LOG="$W/postfix.log"
	MW_SMTP_PORT=$(mw_port)
	MW_UPSTREAM_PORT=$(mw_port)
	mkdir -p "$MW_PF_CONF" "$MW_PF_QUEUE" "$MW_PF_DIR/data"
	chown postfix "$MW_PF_DIR/data"
	mw_postfix_write_main "$@"
	mw_postfix_write_master
	# Postfix rereads a main.cf changed within the last second until it
	# is older (0.3 s naps, ~2 s in all): date the fresh files back.
	touch -d "@$(($(date +%s) - 10))" "$MW_PF_CONF/main.cf" "$MW_PF_CONF/master.cf"
	MW_CLEANUP_HOOKS+=(mw_postfix_stop)
	if ! postfix -c "$MW_PF_CONF" start >>"$W/postfix-start.log" 2>&1; then
		cat "$W/postfix-start.log" >&2
		script -qec "postfix -c $MW_PF_CONF check" /dev/null >&2
		mw_fail "postfix did not start"
	fi
	MW_PF_MASTER_PID=$(tr -d ' ' <"$MW_PF_QUEUE/pid/master.pid")
	mw_wait_port "$MW_SMTP_PORT" 10 || mw_fail "Postfix smtpd did not listen on $MW_SMTP_PORT"
	mw_wait_port "$MW_UPSTREAM_PORT" 10 || mw_fail "Postfix smtpd did not listen on $MW_UPSTREAM_PORT"
}

# mw_postfix_stop - stop the master (and so its children) by pid
mw_postfix_stop() {
	local pid=${MW_PF_MASTER_PID:-} i
	[ -n "$pid" ] || return 0
	MW_PF_MASTER_PID=
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 200); do
		mw_postfix_group_alive "$pid" || return 0
		sleep 0.05
	done
	kill -KILL -- "-$pid" 2>/dev/null
	return 0
}

# mw_postfix_group_alive PGID - a process of the master's group still runs
mw_postfix_group_alive() {
	local p
	for p in $(pgrep -g "$1"); do
		mw_alive "$p" && return 0
	done
	return 1
}

# mw_send_args - swaks arguments: the caller's, plus defaults it did not give
mw_send_args() {
	local a has_from= has_to= has_helo= has_xaddr= has_xname= port=$MW_SMTP_PORT
	MW_SEND_ARGS=()
	for a in "$@"; do
		case "$a" in
		--upstream) port=$MW_UPSTREAM_PORT; continue ;;
		--from | -f) has_from=1 ;;
		--to | -t) has_to=1 ;;
		--helo | --ehlo | -h) has_helo=1 ;;
		--xclient-addr) has_xaddr=1 ;;
		--xclient-name) has_xname=1 ;;
		esac
		MW_SEND_ARGS+=("$a")
	done
	MW_SEND_ARGS=(--server "127.0.0.1:$port" --timeout 90 "${MW_SEND_ARGS[@]}")
	[ -n "$has_from" ] || MW_SEND_ARGS+=(--from alice@example.test)
	[ -n "$has_to" ] || MW_SEND_ARGS+=(--to bob@example.org)
	[ -n "$has_helo" ] || MW_SEND_ARGS+=(--helo client.example.test)
	if [ -n "$has_xaddr" ] && [ -z "$has_xname" ]; then
		MW_SEND_ARGS+=(--xclient-name client.example.test)
	fi
}

# mw_send [SWAKS_OPTION...] - one message through the private Postfix
mw_send() {
	local rc
	MW_SEND_N=$((${MW_SEND_N:-0} + 1))
	MW_SEND_LOG="$W/swaks.$MW_SEND_N.log"
	mw_send_args "$@"
	swaks "${MW_SEND_ARGS[@]}" >"$MW_SEND_LOG" 2>&1 </dev/null
	rc=$?
	MW_SENT_QID=$(sed -n 's/^<- *250 .*queued as \([0-9A-Za-z]*\).*/\1/p' "$MW_SEND_LOG" | tail -n 1)
	return $rc
}

# mw_send_expect CODE [SWAKS_OPTION...] - the transaction must get CODE
mw_send_expect() {
	local code=$1
	shift
	mw_send "$@"
	if [ "$code" = 250 ]; then
		[ -n "$MW_SENT_QID" ] && return 0
	elif grep -Eq "^<\*\* +$code[ -]" "$MW_SEND_LOG"; then
		return 0
	fi
	cat "$MW_SEND_LOG" >&2
	mw_fail "expected SMTP $code (transcript above, $MW_SEND_LOG)"
}

# mw_sendmail [ARGS...] - submit stdin through sendmail, postdrop and pickup
mw_sendmail() {
	sendmail -C "$MW_PF_CONF" "$@"
}

# mw_sink_files - complete sink files, oldest first. smtp-sink creates a
# file at MAIL FROM and closes it at the end of DATA, before its 250
# (and unlinks it on RSET): a file it does not hold open is complete.
mw_sink_files() {
	local f open
	open=$(ls -l "/proc/$MW_SINK_PID/fd" 2>/dev/null | sed -n 's/.* -> //p')
	[ -n "$open" ] || { echo "cannot read /proc/$MW_SINK_PID/fd" >&2; return 1; }
	ls -1tr "$MW_SINK_DIR" 2>/dev/null | while read -r f; do
		case "$open" in
		*"$MW_SINK_DIR/$f"*) ;;
		*) echo "$MW_SINK_DIR/$f" ;;
		esac
	done
}

# mw_sink_count - number of complete messages in the sink
mw_sink_count() {
	mw_sink_files | wc -l
}

# mw_wait_delivered COUNT [SECONDS] - print the sink files once COUNT are there
mw_wait_delivered() {
	local n=$1 t=${2:-20} i
	for i in $(seq 1 $((t * 20))); do
		if [ "$(mw_sink_count)" -ge "$n" ]; then
			mw_sink_files
			return 0
		fi
		sleep 0.05
	done
	mw_sink_files
	echo "mw_wait_delivered: $(mw_sink_count) of $n messages after $t s" >&2
	return 1
}

# mw_postfix_queue_count - messages in the private Postfix's queues now
mw_postfix_queue_count() {
	find "$MW_PF_QUEUE/maildrop" "$MW_PF_QUEUE/incoming" "$MW_PF_QUEUE/active" \
		"$MW_PF_QUEUE/deferred" "$MW_PF_QUEUE/hold" -type f 2>/dev/null | wc -l
}

# mw_postfix_flush - retry deferred mail now
mw_postfix_flush() {
	postqueue -c "$MW_PF_CONF" -f
}

# mw_postfix_log_wait PATTERN [SECONDS] - wait for a Postfix log line
mw_postfix_log_wait() {
	mw_grep_wait "$MW_PF_LOG" "${2:-10}" -E -- "$1" && return 0
	echo "no line matching '$1' in $MW_PF_LOG" >&2
	return 1
}

# mw_sink_qid FILE - queue ID the private Postfix gave the message in FILE
mw_sink_qid() {
	awk '/^(Received:)?[ \t]+by mx\.example\.test \(Postfix/ { p = 3 }
	     p > 0 { for (i = 1; i < NF; i++) if ($i == "id") { sub(/[;].*/, "", $(i + 1)); print $(i + 1); exit }
		     p-- }' "$1"
}
