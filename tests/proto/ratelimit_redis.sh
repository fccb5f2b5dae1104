#!/bin/bash
# ratelimit_redis.sh - two mailwarden daemons share one real redis-server
# and enforce one combined limit (a third, through Redis's unix socket,
# sees the same counts); a reset through either is seen by both;
# with redis-server killed, one daemon fails open (redis_down_action =
# accept, noted on the log line) and the other answers 451 4.3.0, and
# neither crashes; once redis-server is back (empty, its script cache
# lost) the limit is enforced again without a restart.
. "$MW_SRCDIR/tests/lib/common.sh"
mw_init
mw_need miltertest redis-server redis-cli

rport=$(mw_port)
mkdir -p "$W/redis"
redis_start() {
	redis-server --port "$rport" --bind 127.0.0.1 --dir "$W/redis" --save "" \
		--unixsocket "$W/redis.sock" --unixsocketperm 700 \
		--appendonly no --daemonize no >>"$W/redis.log" 2>&1 &
	REDIS_PID=$!
	mw_track "$REDIS_PID"
	mw_wait_port "$rport" 10 || mw_fail "redis-server did not listen on $rport"
}
redis_start

# daemon_conf NAME DOWN_ACTION [SERVER] - a config for daemon NAME; prints its socket
daemon_conf() {
	local port
	port=$(mw_port)
	cat >"$W/$1.conf" <<EOF2
socket = "inet:$port@127.0.0.1"
pid_file = ""
user = ""
control_socket = "$W/$1.ctl"
ratelimit_store = redis
redis_server = "${3:-127.0.0.1:$rport}"
redis_timeout = 500
redis_down_action = $2
ratelimit "fleet" {
	key = {sasl_user}
	rate = 5
	period = 3600
}
EOF2
	echo "inet:$port@127.0.0.1"
}
sock_a=$(daemon_conf a accept)
sock_b=$(daemon_conf b tempfail)
mw_mailwarden_start "$W/a.conf"
pid_a=$MW_PID
# The second daemon logs to a file of its own.
"$MW_BIN" -f -c "$W/b.conf" >>"$W/mailwarden-b.log" 2>&1 &
pid_b=$!
mw_track "$pid_b"
port_b=${sock_b#inet:}
port_b=${port_b%@*}
mw_wait_port "$port_b" 10 || mw_fail "second mailwarden did not listen on $port_b"
# A third reaches the same Redis through its unix socket.
sock_c=$(daemon_conf c accept "unix:$W/redis.sock")
"$MW_BIN" -f -c "$W/c.conf" >>"$W/mailwarden-c.log" 2>&1 &
pid_c=$!
mw_track "$pid_c"
port_c=${sock_c#inet:}
port_c=${port_c%@*}
mw_wait_port "$port_c" 10 || mw_fail "third mailwarden did not listen on $port_c"

# send SOCKET USER N PREFIX - N messages; prints accepted=A refused=R
send() {
	mw_miltertest "$MW_SRCDIR/tests/proto/ratelimit_redis.lua" MW_SOCKET="$1" \
		SASL_USER="$2" N="$3" QPFX="$4" || mw_fail "miltertest failed ($4)"
}
ctl() {
	local d=$1
	shift
	"$MW_BUILDDIR/mailwarden-ctl" -s "$W/$d.ctl" "$@"
}
log_b_wait() {
	local i
	for i in $(seq 1 200); do
		grep -q -- "$1" "$W/mailwarden-b.log" && return 0
		sleep 0.05
	done
	mw_fail "no line matching '$1' in mailwarden-b.log"
}

# One combined limit: 3 through A, then B gets the remaining 2 of 5.
[ "$(send "$sock_a" carol 3 QA)" = "accepted=3 refused=0" ] || mw_fail "A should accept 3"
[ "$(send "$sock_b" carol 3 QB)" = "accepted=2 refused=1" ] || mw_fail "B should accept only 2 more"
log_b_wait 'QB3: .*ratelimit=fleet over retry=[0-9.]*s, .*action=tempfail at MAIL 451 4.7.1'
ctl a show fleet carol | grep -q "available=0 used=5" || mw_fail "A: $(ctl a show fleet carol)"
ctl b show fleet carol | grep -q "available=0 used=5" || mw_fail "B: $(ctl b show fleet carol)"
ctl c show fleet carol | grep -q "available=0 used=5" || mw_fail "C (unix socket): $(ctl c show fleet carol)"
[ "$(send "$sock_c" carol 1 QC)" = "accepted=0 refused=1" ] || mw_fail "C should refuse carol too"
ttl=$(redis-cli -p "$rport" PTTL 'mailwarden:rl:fleet|carol')
[ "$ttl" -gt 0 ] && [ "$ttl" -le 3600000 ] || mw_fail "key expiry $ttl ms is not when it comes to rest"
ctl b stats | grep -q "^store=redis server=127.0.0.1:$rport timeout=500ms state=up" || mw_fail "stats: $(ctl b stats)"

# Both daemons at once, 8 messages each for one user: exactly 5 pass.
send "$sock_a" frank 8 QCA >"$W/conc.a" &
ca=$!
send "$sock_b" frank 8 QCB >"$W/conc.b" &
cb=$!
mw_track "$ca"
mw_track "$cb"
wait "$ca" && wait "$cb" || mw_fail "concurrent senders failed"
na=$(sed -n 's/^accepted=\([0-9]*\) .*/\1/p' "$W/conc.a")
nb=$(sed -n 's/^accepted=\([0-9]*\) .*/\1/p' "$W/conc.b")
total=$((na + nb))
[ "$total" -eq 5 ] || mw_fail "concurrent: $total accepted, not 5 ($(cat "$W/conc.a" "$W/conc.b"))"

# A reset through B lifts the limit for A as well.
ctl b reset fleet carol | grep -q "it had used 5 of 5" || mw_fail "reset through B"
ctl a show fleet carol | grep -q "available=5 used=0" || mw_fail "A does not see the reset"

# The script cache is lost (as after a Redis restart): EVALSHA falls back to EVAL.
redis-cli -p "$rport" SCRIPT FLUSH >/dev/null
[ "$(send "$sock_a" carol 1 QFLUSH)" = "accepted=1 refused=0" ] || mw_fail "no fallback to EVAL"
mw_log_wait 'QFLUSH1: .*ratelimit=fleet ok left=4' || mw_fail "decision after SCRIPT FLUSH"

# Redis dies: A fails open with a note, B tempfails with 4.3.0; both live.
{ kill -KILL "$REDIS_PID" && wait "$REDIS_PID"; } 2>/dev/null
[ "$(send "$sock_a" carol 6 QDOWNA)" = "accepted=6 refused=0" ] || mw_fail "A should fail open"
mw_log_wait 'QDOWNA1: .*ratelimit=unavailable (redis 127.0.0.1:[0-9]*: .*), accepted, .*action=accept' ||
	mw_fail "A did not note the outage"
mw_log_wait 'QDOWNA6: .*ratelimit=unavailable (.*(retrying every second)), accepted' ||
	mw_fail "A should not retry Redis on every message"
[ "$(send "$sock_b" carol 1 QDOWNB)" = "accepted=0 refused=1" ] || mw_fail "B should tempfail"
log_b_wait 'QDOWNB1: .*ratelimit=unavailable (.*), tempfail, .*action=tempfail at MAIL 451 4.3.0'
ctl a show fleet carol 2>"$W/ctl.err" && mw_fail "show must fail while Redis is down"
grep -q "redis 127.0.0.1:$rport" "$W/ctl.err" || mw_fail "show error: $(cat "$W/ctl.err")"
kill -0 "$pid_a" && kill -0 "$pid_b" && kill -0 "$pid_c" || mw_fail "a daemon died while Redis was down"

# Redis is back (empty): within the one-second back-off both enforce again.
redis_start
for i in $(seq 1 100); do
	out=$(send "$sock_b" probe 1 "QPROBE$i-")
	[ "$out" = "accepted=1 refused=0" ] && break
	sleep 0.1
done
[ "$out" = "accepted=1 refused=0" ] || mw_fail "B did not recover after Redis came back"
[ "$(send "$sock_a" dave 4 QBACKA)" = "accepted=4 refused=0" ] || mw_fail "A after recovery"
[ "$(send "$sock_b" dave 3 QBACKB)" = "accepted=1 refused=2" ] || mw_fail "combined limit after recovery"
mw_log_wait 'QBACKA4: .*ratelimit=fleet ok left=1' || mw_fail "A does not count in Redis again"

# A quick Redis restart between two messages costs nothing: the pooled
# connection the server closed is replaced at once.
{ kill -KILL "$REDIS_PID" && wait "$REDIS_PID"; } 2>/dev/null
redis_start
[ "$(send "$sock_a" erin 1 QRESTART)" = "accepted=1 refused=0" ] || mw_fail "after a restart"
mw_log_wait 'QRESTART1: .*ratelimit=fleet ok left=4, .*action=accept' ||
	mw_fail "a stale pooled connection should be replaced, not reported"

kill -TERM "$pid_a" "$pid_b" "$pid_c"	# all at once: libmilter takes seconds to stop
echo "PASS: ratelimit with a shared Redis"
