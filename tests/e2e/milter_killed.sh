#!/bin/bash
# milter_killed.sh - mailwarden dies in the middle of a message; nothing
# is lost.
#  1. Mail from a sending MTA (the upstream hop: a queue of its own) and
#     mail submitted with sendmail (pickup; non_smtpd_milters) reach
#     mailwarden, which is caught at end of message waiting on DNS (a
#     server that never answers): Postfix is waiting on it. mailwarden is
#     then stopped (SIGSTOP) and killed (SIGKILL).
#  2. Postfix answers both with a temporary failure and keeps them: the
#     upstream hop's queue holds the relayed one as deferred (4xx), the
#     sendmail one stays in the maildrop queue. Nothing reaches the sink.
#     While mailwarden is down, a direct SMTP client is told 4xx (so its
#     own queue keeps the message), never 5xx, never 250.
#  3. mailwarden starts again (on the same socket, now with a DNS server
#     that answers): both kept messages are delivered, each exactly once,
#     and Postfix's queue is empty.
. "$MW_SRCDIR/tests/lib/common.sh"
. "$MW_SRCDIR/tests/lib/postfix.sh"
mw_init
mw_postfix_need
mw_need nsd nsd-checkzone dig /usr/bin/python3

mkdir -p "$W/zones"
cat >"$W/zones/example.test.zone" <<EOF
\$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@ IN NS ns.test.
@ IN TXT "v=spf1 ip4:192.0.2.0/24 ip4:127.0.0.0/8 ~all"
EOF
mw_nsd_start "$W/zones"
mw_dns_silent_start
mw_test_psl

# conf FILE DNS_PORT - mailwarden's config; inbound checks query DNS at
# end of message, internal_hosts does not cover loopback
MW_MILTER_PORT=$(mw_port)
conf() {
	cat >"$1" <<EOF
socket = "inet:$MW_MILTER_PORT@127.0.0.1"
pid_file = ""
user = ""
internal_hosts = {10.0.0.0/8}
authserv_id = "mx.example.test"
dns_servers = {127.0.0.1:$2}
dns_timeout = 60
dns_budget = 120
public_suffix_list = "$MW_PSL"
EOF
}
conf "$W/stuck.conf" "$MW_SILENT_DNS_PORT"
conf "$W/mw.conf" "$MW_DNS_PORT"
mw_mailwarden_start "$W/stuck.conf"
mw_postfix_start

# msg ID DOMAIN - a message from alice@DOMAIN, Message-ID <ID@example.test>
msg() {
	printf 'From: alice@%s\nTo: bob@example.org\nSubject: %s\nMessage-ID: <%s@example.test>\n\nbody of %s\n' \
		"$2" "$1" "$1" "$1" >"$W/$1.txt"
}

# --- 1. both caught mid-message (at end of message, on DNS), then killed ----
msg relayed example.test
mw_send_expect 250 --upstream --xclient-addr 192.0.2.10 --data "$W/relayed.txt"
q_up=$MW_SENT_QID
mw_dns_silent_wait 'example\.test$' || mw_fail "mailwarden never asked DNS about the relayed message"
msg submitted other.test
mw_sendmail -f alice@other.test bob@example.org <"$W/submitted.txt" ||
	mw_fail "sendmail refused the message"
mw_dns_silent_wait 'other\.test$' ||
	mw_fail "mailwarden never asked DNS about the submitted message"
[ "$(mw_sink_count)" -eq 0 ] || mw_fail "a message went past a stuck mailwarden"
kill -STOP "$MW_PID"
kill -KILL "$MW_PID"
wait "$MW_PID" 2>/dev/null

# --- 2. Postfix keeps both; clients are told 4xx ---------------------------
mw_postfix_log_wait "$q_up: to=<bob@example.org>, relay=127.0.0.1\[127.0.0.1\]:$MW_SMTP_PORT.*status=deferred \(host .* said: 4[0-9][0-9] " 20 ||
	mw_fail "the upstream hop did not defer $q_up with a 4xx"
mw_postfix_log_wait "milter .*$MW_MILTER_PORT.*(Connection refused|Connection reset|EOF|end-of-input|can't read)" 20 ||
	mw_fail "Postfix did not notice mailwarden was gone"
for a in 192.0.2.10 10.1.2.3; do
	mw_send_expect 451 --xclient-addr $a
	[ -z "$MW_SENT_QID" ] || mw_fail "Postfix accepted mail from $a with mailwarden down"
	grep -Eq '^<\*\* +5[0-9][0-9]' "$MW_SEND_LOG" && mw_fail "a 5xx for $a while mailwarden was down"
done
[ "$(mw_sink_count)" -eq 0 ] || mw_fail "a message went past a dead mailwarden: $(mw_sink_files)"
[ "$(mw_postfix_queue_count)" -eq 2 ] ||
	mw_fail "Postfix does not hold both messages: $(mw_postfix_queue_count) queued"

# --- 3. mailwarden is back: each delivered exactly once ---------------------
mw_mailwarden_start "$W/mw.conf"
mw_postfix_flush
files=$(mw_wait_delivered 2 30) || mw_fail "the kept messages were not delivered: $files"
for id in relayed submitted; do
	n=$(cat $files | grep -c "^Message-ID: <$id@example.test>")
	[ "$n" -eq 1 ] || mw_fail "message $id delivered $n times"
done
for i in $(seq 1 100); do
	[ "$(mw_postfix_queue_count)" -eq 0 ] && break
	sleep 0.05
done
[ "$(mw_postfix_queue_count)" -eq 0 ] || mw_fail "Postfix still holds $(mw_postfix_queue_count) messages"
[ "$(mw_sink_count)" -eq 2 ] || mw_fail "$(mw_sink_count) messages at the sink, expected 2"
for f in $files; do
	q=$(mw_sink_qid "$f")
	mw_log_wait "^mailwarden: $q: client=.*action=" || mw_fail "mailwarden did not log $q after its restart"
done
exit 0
