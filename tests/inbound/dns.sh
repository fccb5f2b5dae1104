#!/bin/bash
# dns.sh - the resolver as the inbound checks use it (issue 3):
# (a) the cache: two messages from one domain; nsd counts the queries it
#     gets: every name is asked once, the second message costs none;
# (b) a dead DNS server (a socket that never answers) costs a message no
#     more than its dns_budget, and the answer is the configured
#     temperror action: 451 4.4.3 (tempfail), or the message accepted
#     with dmarc=temperror (accept). Time is only bounded from above,
#     with a wide margin: dns_timeout alone would take 4 x 5 s.
. "$MW_SRCDIR/tests/lib/common.sh"
. "$MW_SRCDIR/tests/inbound/lib.sh"
inbound_init miltertest nsd-control

port=$(mw_port)
sock="inet:$port@127.0.0.1"
conf() {
	cat >"$W/mw.conf" <<EOF
socket = "$sock"
pid_file = ""
user = ""
authserv_id = "mx.example.test"
public_suffix_list = "$W/psl.dat"
$*
EOF
}

# drive CASE [VAR=VALUE...] - one message; its output in $W/out.CASE
drive() {
	local name=$1
	shift
	mw_miltertest "$MW_SRCDIR/tests/inbound/drive.lua" MW_SOCKET="$sock" \
		CASE="$W/cases/$name.case" "$@" >"$W/out.$name" 2>&1
}

# --- (a) the cache ---------------------------------------------------------
conf "dns_servers = {127.0.0.1:$MW_DNS_PORT}"
mw_mailwarden_start "$W/mw.conf"
q0=$(mw_nsd_queries)
drive dmarc_pass_dkim || mw_fail "first message: $(cat "$W/out.dmarc_pass_dkim")"
q1=$(mw_nsd_queries)
drive dmarc_pass_dkim || mw_fail "second message: $(cat "$W/out.dmarc_pass_dkim")"
q2=$(mw_nsd_queries)
diff -u "$W/cases/dmarc_pass_dkim.want" "$W/out.dmarc_pass_dkim" >&2 ||
	mw_fail "the second message's result differs"
# HELO, MAIL FROM and DKIM key TXT records, and _dmarc.reject.test: four
# names, each asked once; the second message is answered from the cache.
[ $((q1 - q0)) -eq 4 ] || mw_fail "first message: $((q1 - q0)) queries at nsd, expected 4"
[ $((q2 - q1)) -eq 0 ] || mw_fail "second message: $((q2 - q1)) queries at nsd, expected 0"
mw_log_wait "QDMARCPASSDKIM: .*dns=4q/0h" || mw_fail "no dns=4q/0h note"
mw_log_wait "QDMARCPASSDKIM: .*dns=0q/4h" || mw_fail "no dns=0q/4h note"

# --- (b) a dead server ------------------------------------------------------
dead=$(mw_port)
/usr/bin/python3 -c '
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", int(sys.argv[1])))
t = socket.socket(); t.bind(("127.0.0.1", int(sys.argv[1]))); t.listen(64)
time.sleep(3600)' "$dead" &
mw_track $!
budget=2
n=$(grep -c "reloaded configuration" "$W/mailwarden.log")
conf "dns_servers = {127.0.0.1:$dead}" "dns_timeout = 5" "dns_budget = $budget"
kill -HUP "$MW_PID"
for i in $(seq 1 100); do
	[ "$(grep -c "reloaded configuration" "$W/mailwarden.log")" -gt "$n" ] && break
	sleep 0.05
done
[ "$(grep -c "reloaded configuration" "$W/mailwarden.log")" -gt "$n" ] || mw_fail "no reload"

t0=$(date +%s%N)
drive dmarc_pass_dkim MW_CASE_QID=QDEAD1 \
	MW_CASE_SMTP="451 4.4.3 DMARC policy of reject.test cannot be evaluated now (DNS), try again later" || mw_fail "dead server: $(cat "$W/out.dmarc_pass_dkim")"
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
printf 'reply=y\nsmtp=451 4.4.3 DMARC policy of reject.test cannot be evaluated now (DNS), try again later\n' >"$W/want.dead"
diff -u "$W/want.dead" "$W/out.dmarc_pass_dkim" >&2 || mw_fail "dead server: not the tempfail answer"
mw_log_wait "QDEAD1: .*budget-spent.*action=tempfail at end of message 451 4.4.3" ||
	mw_fail "no log line with budget-spent and the tempfail"
[ "$ms" -lt $(((budget + 6) * 1000)) ] ||
	mw_fail "a message took $ms ms with a dns_budget of $budget s (no budget: 4 lookups x 5 s)"

conf "dns_servers = {127.0.0.1:$dead}" "dns_timeout = 5" "dns_budget = $budget" \
	'temperror_action = "accept"'
n=$(grep -c "reloaded configuration" "$W/mailwarden.log")
kill -HUP "$MW_PID"
for i in $(seq 1 100); do
	[ "$(grep -c "reloaded configuration" "$W/mailwarden.log")" -gt "$n" ] && break
	sleep 0.05
done
drive dmarc_pass_dkim MW_CASE_QID=QDEAD2 || mw_fail "dead server, accept: $(cat "$W/out.dmarc_pass_dkim")"
grep -q '^reply=c$' "$W/out.dmarc_pass_dkim" || mw_fail "temperror_action = accept did not accept"
grep -q 'dmarc=temperror (DMARC record lookup failed) header.from=reject.test' "$W/out.dmarc_pass_dkim" ||
	mw_fail "no dmarc=temperror in the header: $(cat "$W/out.dmarc_pass_dkim")"
grep -q 'spf=temperror smtp.mailfrom=alice@spf-pass.example.test' "$W/out.dmarc_pass_dkim" ||
	mw_fail "no spf=temperror in the header"
grep -q 'dkim=temperror (key lookup failed) header.d=reject.test' "$W/out.dmarc_pass_dkim" ||
	mw_fail "no dkim=temperror in the header"
kill -0 "$MW_PID" || mw_fail "mailwarden died"
echo "PASS: cache (4 queries, then 0), dead DNS server: $ms ms with a ${budget} s budget, tempfail and accept"
