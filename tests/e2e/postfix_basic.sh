#!/bin/bash
# postfix_basic.sh - mail through a real Postfix and mailwarden to smtp-sink.
#  1. an external client (XCLIENT ADDR 192.0.2.10): the message reaches the
#     sink; mailwarden's log line names the queue ID Postfix gave it (the
#     one in Postfix's reply, its log and its Received header) and says
#     dir=inbound (external); the relayed copy carries mailwarden's
#     Authentication-Results with SPF pass (parsed by python3-authres);
#  2. an internal client (10.1.2.3, in internal_hosts): dir=outbound
#     (internal_hosts), no Authentication-Results;
#  3. an authenticated client (XCLIENT LOGIN, which Postfix hands on as
#     the {auth_authen} macro, as a SASL login): dir=outbound (sasl),
#     sasl=carol;
#  4. two messages in one SMTP session each get their own queue ID in
#     mailwarden's log.
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
@ IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
EOF
mw_nsd_start "$W/zones"
mw_test_psl

MW_MILTER_PORT=$(mw_port)
cat >"$W/mw.conf" <<EOF
socket = "inet:$MW_MILTER_PORT@127.0.0.1"
pid_file = ""
user = ""
internal_hosts = {10.0.0.0/8}
authserv_id = "mx.example.test"
dns_servers = {127.0.0.1:$MW_DNS_PORT}
public_suffix_list = "$MW_PSL"
EOF
mw_mailwarden_start "$W/mw.conf"
mw_postfix_start

# logline QID - mailwarden's log line for QID (fails the test if none)
logline() {
	mw_log_wait "^mailwarden: $1: client=" || mw_fail "no mailwarden log line for $1"
	grep "^mailwarden: $1: client=" "$W/mailwarden.log"
}

# sent QID FILE - QID is the one Postfix logged, and the one in FILE
sent() {
	[ -n "$1" ] || mw_fail "Postfix named no queue ID in its reply: $(cat "$MW_SEND_LOG")"
	mw_postfix_log_wait "postfix/smtp\[[0-9]+\]: $1: to=<.*status=sent" ||
		mw_fail "Postfix did not log $1 as sent"
	[ "$(mw_sink_qid "$2")" = "$1" ] ||
		mw_fail "the relayed copy $2 has queue ID '$(mw_sink_qid "$2")', not $1"
}

# --- 1. external client -----------------------------------------------------
mw_send_expect 250 --xclient-addr 192.0.2.10 --xclient-name ext.example.net
q1=$MW_SENT_QID
f1=$(mw_wait_delivered 1) || mw_fail "message 1 did not reach the sink"
sent "$q1" "$f1"
mw_postfix_log_wait "$q1: client=ext.example.net\[192.0.2.10\]" || mw_fail "Postfix saw another client"
l1=$(logline "$q1")
grep -q "client=ext.example.net\[192.0.2.10\], dir=inbound (external), from=<alice@example.test>, nrcpt=1" <<<"$l1" ||
	mw_fail "log line of $q1: $l1"
grep -q "sasl=" <<<"$l1" && mw_fail "an unauthenticated client logged with sasl=: $l1"
mw_verify authres "$f1" --authserv-id mx.example.test \
	--expect 'spf=pass smtp.mailfrom=alice@example.test' >>"$W/verify.log" ||
	mw_fail "Authentication-Results of $q1: $(tail -n 3 "$W/verify.log")"

# --- 2. internal client -----------------------------------------------------
mw_send_expect 250 --xclient-addr 10.1.2.3 --xclient-name app.example.test
q2=$MW_SENT_QID
f2=$(mw_wait_delivered 2 | tail -n 1) || mw_fail "message 2 did not reach the sink"
sent "$q2" "$f2"
grep -q "client=app.example.test\[10.1.2.3\], dir=outbound (internal_hosts)," <<<"$(logline "$q2")" ||
	mw_fail "log line of $q2: $(logline "$q2")"
grep -qi '^Authentication-Results: mx.example.test' "$f2" &&
	mw_fail "outbound message $q2 got an Authentication-Results header"

# --- 3. authenticated client (XCLIENT LOGIN = SASL login) -------------------
mw_send_expect 250 --xclient-addr 192.0.2.20 --xclient-login carol --from carol@example.test
q3=$MW_SENT_QID
f3=$(mw_wait_delivered 3 | tail -n 1) || mw_fail "message 3 did not reach the sink"
sent "$q3" "$f3"
mw_postfix_log_wait "$q3: client=.*sasl_username=carol" || mw_fail "Postfix did not take the XCLIENT LOGIN"
grep -q "\[192.0.2.20\], dir=outbound (sasl), from=<carol@example.test>, nrcpt=1, sasl=carol" <<<"$(logline "$q3")" ||
	mw_fail "log line of $q3: $(logline "$q3")"

# --- 4. two transactions in one session: one queue ID each -----------------
/usr/bin/python3 - "$MW_SMTP_PORT" >"$W/two.out" 2>&1 <<'EOF' || mw_fail "two messages in one session: $(cat "$W/two.out")"
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), 'client.example.test', timeout=60)
s.ehlo()
assert s.docmd('XCLIENT', 'ADDR=192.0.2.30 NAME=two.example.net')[0] == 220
s.ehlo()
for rcpt in ('eve@example.org', 'fay@example.org'):
    assert s.mail('dan@example.test')[0] == 250
    assert s.rcpt(rcpt)[0] == 250
    code, text = s.data(b'Subject: to ' + rcpt.encode() + b'\r\n\r\nhello\r\n')
    print(code, text.decode())
s.quit()
EOF
mapfile -t qs < <(sed -n 's/^250 .*queued as \([0-9A-Za-z]*\).*/\1/p' "$W/two.out")
[ "${#qs[@]}" -eq 2 ] || mw_fail "two messages in one session: $(cat "$W/two.out")"
[ "${qs[0]}" != "${qs[1]}" ] || mw_fail "both messages got queue ID ${qs[0]}"
grep -q "dir=inbound (external), from=<dan@example.test>, nrcpt=1" <<<"$(logline "${qs[0]}")" ||
	mw_fail "log line of ${qs[0]}"
grep -q "dir=inbound (external), from=<dan@example.test>, nrcpt=1" <<<"$(logline "${qs[1]}")" ||
	mw_fail "log line of ${qs[1]}"
mw_wait_delivered 5 >/dev/null || mw_fail "the two messages of one session were not both delivered"
exit 0
