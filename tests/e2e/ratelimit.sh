#!/bin/bash
# ratelimit.sh - rate limits through a real Postfix.
#
# 1. swaks presents a client and a SASL login with XCLIENT: over a message
#    limit the 3rd message gets 451 4.7.1 at MAIL FROM; over a recipient
#    limit only the excess recipients get 451 4.7.1 at RCPT TO, and the
#    message goes to the others.
# 2. Postfix itself meets the limits as a sending MTA (postfix.sh's
#    upstream hop: an smtpd without milter queues the mail and relays it to
#    the smtpd that runs mailwarden). The refused message and the refused
#    recipient are deferred by the hop ("451 4.7.1 ... in reply to MAIL
#    FROM / RCPT TO") and delivered by its retries once the 3-second window
#    has passed.
. "$MW_SRCDIR/tests/lib/common.sh"
. "$MW_SRCDIR/tests/lib/postfix.sh"
mw_init
mw_postfix_need

MW_MILTER_PORT=$(mw_port)
cat >"$W/mw.conf" <<EOF2
socket = "inet:$MW_MILTER_PORT@127.0.0.1"
pid_file = ""
user = ""
inbound_checks = no
signing = no
ratelimit "per-user" {
	key = {sasl_user}
	rate = 2
	period = 3600
	direction = outbound
}
ratelimit "user-rcpt-domain" {
	key = {sasl_user, rcpt_domain}
	count = recipients
	rate = 2
	period = 3600
}
# Postfix's own relaying (client 127.0.0.1); XCLIENT clients are excepted.
ratelimit "relay-msgs" {
	key = {sender_domain}
	rate = 1
	period = 3
	except_hosts = {192.0.2.0/24}
}
ratelimit "relay-rcpts" {
	key = {sender_domain, rcpt_domain}
	count = recipients
	rate = 2
	period = 3
	except_hosts = {192.0.2.0/24}
}
EOF2
mw_mailwarden_start "$W/mw.conf"
mw_postfix_start

# --- 1. SMTP clients get the answers directly ---------------------------
mw_send_expect 250 --xclient-addr 192.0.2.10 --xclient-login alice
mw_send_expect 250 --xclient-addr 192.0.2.10 --xclient-login alice
mw_send_expect 451 --xclient-addr 192.0.2.10 --xclient-login alice
grep -A1 -- '-> MAIL FROM:<alice@example.test>' "$MW_SEND_LOG" |
	grep -q '<\*\* *451 4.7.1 Rate limit "per-user" exceeded, try again in [0-9]* seconds' ||
	mw_fail "the 3rd message must get 451 4.7.1 naming the rule at MAIL FROM ($MW_SEND_LOG)"
mw_wait_delivered 2 20 >/dev/null || mw_fail "alice's first two messages were not delivered"

mw_send --xclient-addr 192.0.2.11 --xclient-login bob --from bob@example.test \
	--to a@example.org,b@example.org,c@example.org,d@example.org,e@example.net ||
	mw_fail "bob's message should be accepted for the allowed recipients ($MW_SEND_LOG)"
for r in a@example.org b@example.org e@example.net; do
	grep -A1 -- "-> RCPT TO:<$r>" "$MW_SEND_LOG" | grep -q '<- *250' ||
		mw_fail "RCPT $r should get 250 ($MW_SEND_LOG)"
done
for r in c@example.org d@example.org; do
	grep -A1 -- "-> RCPT TO:<$r>" "$MW_SEND_LOG" |
		grep -q '<\*\* *451 4.7.1 Rate limit "user-rcpt-domain" exceeded' ||
		mw_fail "RCPT $r should get 451 4.7.1 ($MW_SEND_LOG)"
done
f=$(mw_wait_delivered 3 20 | tail -n 1) || mw_fail "bob's message was not delivered"
grep -c '^X-Rcpt-Args: <' "$f" | grep -qx 3 || mw_fail "bob's message should reach 3 recipients: $(grep X-Rcpt "$f")"
grep -q 'X-Rcpt-Args: <c@example.org>' "$f" && mw_fail "a refused recipient was delivered"
mw_log_wait "$(mw_sink_qid "$f"): .*sasl=bob, .*ratelimit recipients refused=2" ||
	mw_fail "no recipient tally on bob's log line"

# --- 2. Postfix as the sender: deferred, then delivered -----------------
# Through the upstream hop (an smtpd of the same Postfix, without milter,
# that queues and relays to the one mailwarden watches).
before=$(mw_sink_count)
mw_send_expect 250 --upstream --from carl@retry.example \
	--to r1@dest.example,r2@dest.example,r3@dest.example
mw_send_expect 250 --upstream --from carl@retry.example --to r4@dest.example
mw_postfix_log_wait 'status=deferred .*451 4.7.1 Rate limit "relay-msgs" exceeded.*in reply to MAIL FROM' 30 ||
	mw_fail "Postfix should defer the 2nd message at MAIL FROM"
mw_postfix_log_wait 'to=<r3@dest.example>.*status=deferred .*451 4.7.1 Rate limit "relay-rcpts" exceeded.*in reply to RCPT TO' 30 ||
	mw_fail "Postfix should defer only the 3rd recipient at RCPT TO"
mw_wait_delivered $((before + 3)) 60 >/dev/null || mw_fail "the deferred mail was not delivered after the window"
for r in r1 r2 r3 r4; do
	n=$(mw_sink_files | xargs grep -l "^X-Rcpt-Args: <$r@dest.example>" | wc -l)
	[ "$n" -eq 1 ] || mw_fail "$r@dest.example delivered $n times"
done
for i in $(seq 1 100); do	# the queue file goes just after the delivery
	[ "$(mw_postfix_queue_count)" -eq 0 ] && break
	sleep 0.1
done
[ "$(mw_postfix_queue_count)" -eq 0 ] || mw_fail "mail left in the queue"
echo "PASS: rate limits through Postfix"
