#!/bin/bash
# ratelimit.sh - rate limits through the milter protocol (in-memory store):
# a message rule refuses at MAIL FROM with 451 4.7.1, a recipient rule only
# the excess recipients, a reject rule answers 550 5.7.1, a log-only rule
# refuses nothing but logs; mailwarden-ctl shows and resets a key over the
# control socket; a reload (SIGHUP) keeps every key's standing.
. "$MW_SRCDIR/tests/lib/common.sh"
mw_init
mw_need miltertest

port=$(mw_port)
sock="inet:$port@127.0.0.1"
ctl() {
	"$MW_BUILDDIR/mailwarden-ctl" -s "$W/ctl.sock" "$@"
}
conf() {
	cat >"$W/mw.conf" <<EOF2
socket = "$sock"
pid_file = ""
user = ""
max_headers = $1
control_socket = "$W/ctl.sock"
ratelimit "per-user" {
	key = {sasl_user}
	rate = 3
	period = 3600
	direction = outbound
}
ratelimit "rcpt-domain" {
	key = {sasl_user, rcpt_domain}
	count = recipients
	rate = 2
	period = 3600
}
ratelimit "shadow-ip" {
	key = {client_ip}
	rate = 1
	period = 3600
	action = log
}
ratelimit "inbound-sender" {
	key = {sender}
	rate = 1
	period = 3600
	direction = inbound
	action = reject
}
EOF2
}
conf 1000
mw_mailwarden_start "$W/mw.conf"
run() {
	mw_miltertest "$MW_SRCDIR/tests/proto/ratelimit.lua" MW_SOCKET="$sock" PHASE="$1" QID="$2" ||
		mw_fail "miltertest phase $1 failed"
}
expect() {
	mw_log_wait "$1" || mw_fail "no log line matching: $1"
}

# A second daemon may not take over a live control socket: it stops at once.
port2=$(mw_port)
sed "s/inet:$port@/inet:$port2@/" "$W/mw.conf" >"$W/second.conf"
timeout 30 "$MW_BIN" -f -c "$W/second.conf" >"$W/second.out" 2>&1
rc=$?
[ $rc -eq 69 ] || mw_fail "a second daemon on the same control socket exited $rc, not 69"
grep -q "fatal: control_socket $W/ctl.sock: another process serves it" "$W/second.out" ||
	mw_fail "no reason given: $(cat "$W/second.out")"

run messages
expect 'QMSG1: .*ratelimit=per-user ok left=2, ratelimit=shadow-ip ok left=0, .*action=accept'
expect 'QMSG3: .*ratelimit=per-user ok left=0, ratelimit=shadow-ip over retry=[0-9.]*s (log only), .*action=accept'
expect 'QMSG4: .*ratelimit=per-user over retry=[0-9.]*s, ratelimit=shadow-ip over retry=[0-9.]*s (log only), .*action=tempfail at MAIL 451 4.7.1'

run recipients
expect 'QRCPT: .*nrcpt=3, sasl=bob, .*ratelimit=rcpt-domain ok left=1 rcpt=<a@example.org>, ratelimit=rcpt-domain over retry=[0-9.]*s rcpt=<c@example.org>, rcpt=<c@example.org> tempfail at RCPT 451 4.7.1, .*ratelimit recipients refused=1 log-only-over=0, .*action=accept'

run reject
expect 'QREJ2: .*ratelimit=inbound-sender over retry=[0-9.]*s, .*action=reject at MAIL 550 5.7.1'

# The control socket: standing, reset (logged), errors.
out=$(ctl show per-user alice) || mw_fail "ctl show failed"
case "$out" in
*"key=alice limit=3/3600s burst=3 available=0 used=3 "*) ;;
*) mw_fail "unexpected show: $out" ;;
esac
ctl show per-user alice extra 2>"$W/ctl.err" && mw_fail "a wrong value count must fail"
grep -q "counts by sasl_user: give 1 value" "$W/ctl.err" || mw_fail "no reason given: $(cat "$W/ctl.err")"
ctl show no-such-rule x 2>/dev/null && mw_fail "an unknown rule must fail"
out=$(ctl reset per-user alice) || mw_fail "ctl reset failed"
[ "$out" = "rule=per-user key=alice reset: it had used 3 of 3" ] || mw_fail "unexpected reset: $out"
expect "control: uid $(id -u): reset per-user alice: rule=per-user key=alice reset: it had used 3 of 3"
ctl rules | grep -q '^rule=rcpt-domain count=recipients key=sasl_user,rcpt_domain limit=2/3600s burst=2 direction=both action=tempfail$' ||
	mw_fail "rules: $(ctl rules)"
ctl stats | grep -q '^store=memory keys=[0-9]' || mw_fail "stats: $(ctl stats)"

run after_reset QRESET1
expect 'QRESET1: .*ratelimit=per-user ok left=2'

# Use up alice's allowance again, reload, and she must still be refused.
run after_reset QRESET2
run after_reset QRESET3
conf 500
kill -HUP "$MW_PID"
mw_log_wait "reloaded configuration" || mw_fail "no reload logged"
run after_reload
expect 'QRELOAD: .*ratelimit=per-user over .*action=tempfail at MAIL 451 4.7.1'
ctl show per-user alice | grep -q "available=0 used=3" || mw_fail "state lost across the reload"
echo "PASS: ratelimit protocol"
