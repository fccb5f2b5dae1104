#!/bin/bash
# hostile_features.sh - hostile messages with every feature stage on
# (inbound SPF/DKIM/DMARC against the test's nsd, DKIM signing, an archive
# journal): NUL bytes in header values and body, a 1000-byte and a 64 KB
# header value, 10,000 headers, a 2,000-byte body line, several From
# headers, a From with 50 addresses, an unterminated address, encoded-word
# and IDN From, no headers at all, an empty body, a HELO longer than a
# host name. Each gets its designed
# SMTP reply and log line, the daemon stays up, and the journal it wrote
# verifies. Small values through miltertest (tests/proto/hostile_features.lua);
# large ones and raw bytes through the private Postfix (miltertest breaks
# on values over ~1 KB and makes up a From when a script sends none).
#
# Designed answers: inbound mail needs exactly one From header with one
# readable address domain, else 550 5.7.1 (DMARC cannot be evaluated);
# outbound mail with such a From is accepted and left unsigned with the
# reason logged; past max_headers (default 1000) 552 5.3.4.
. "$MW_SRCDIR/tests/lib/common.sh"
. "$MW_SRCDIR/tests/lib/postfix.sh"
mw_init
mw_need miltertest nsd nsd-checkzone dig
mw_postfix_need

# --- zone: SPF for 192.0.2.0/24, DMARC reject, the signing key ---
mkdir -p "$W/zones" "$W/keys" "$W/journal" "$W/out"
chmod 700 "$W/keys"
cat >"$W/zones/example.test.zone" <<EOF
\$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@ IN NS ns.test.
@ IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc IN TXT "v=DMARC1; p=reject"
EOF
"$MW_BUILDDIR/mailwarden-keygen" -d example.test -s rsa1 -o "$W/keys/rsa1.key" \
	>>"$W/zones/example.test.zone" || mw_fail "mailwarden-keygen failed"
mw_nsd_start "$W/zones"
mw_test_psl

port=$(mw_port)
cat >"$W/mw.conf" <<EOF
socket = "inet:$port@127.0.0.1"
pid_file = ""
user = ""
authserv_id = "mx.example.test"
dns_servers = {127.0.0.1:$MW_DNS_PORT}
public_suffix_list = "$MW_PSL"
journal_dir = "$W/journal"
archive "all" { journal = yes }
sign "example.test" { key "rsa1" { file = "$W/keys/rsa1.key" } }
EOF
mw_mailwarden_start "$W/mw.conf"

# line QID|FROM TEXT - mailwarden's log line of that message holds TEXT
line() {
	grep -E "^mailwarden: $1: client=|from=<$1@example.test>" "$W/mailwarden.log" | grep -qF -- "$2" ||
		mw_fail "no log line for $1 with \"$2\": $(grep -E "$1" "$W/mailwarden.log")"
}

# mt CASE REPLY [QID TEXT] - one miltertest case: its reply (99 continue,
# 121 reply code), the daemon alive, its log line
mt() {
	local c=$1 want=$2 qid=Q$(echo "$1" | tr -d _ | tr '[:lower:]' '[:upper:]')
	mw_miltertest "$MW_SRCDIR/tests/proto/hostile_features.lua" MW_SOCKET="inet:$port@127.0.0.1" \
		CASE="$c" >"$W/out/$c" 2>&1 || mw_fail "miltertest case $c: $(cat "$W/out/$c")"
	grep -q "^reply $want" "$W/out/$c" || mw_fail "case $c: $(head -1 "$W/out/$c"), expected $want"
	mw_alive "$MW_PID" || mw_fail "mailwarden died in case $c"
	mw_log_wait "^mailwarden: $qid: client=" 5 || mw_fail "no log line for $c"
	shift 2
	[ $# -eq 0 ] || line "$qid" "$*"
}

ok="dmarc=pass from=example.test policy=reject"
reject="inbound=reject"
# NUL bytes: libmilter hands header values over as C strings, so a value
# ends at its NUL (the From is example.test's); the body arrives whole.
mt nul_header 99 "$ok"
mt nul_from 99 "$ok"
mt nul_body 99 "$ok"
mt value_1000 99 "$ok"
mt long_line 99 "$ok"
mt long_line_out 99 "dkim-sign=ok d=example.test s=rsa1 (a body line is over 998 bytes"
mt two_from 121 "dmarc=permerror (several From headers), $reject"
mt two_from_out 99 "dkim-sign=skip (2 From headers)"
mt fifty 121 "dmarc=permerror (unusable From header: too many addresses), $reject"
mt unterminated 121 "dmarc=permerror (unusable From header: unterminated address), $reject"
mt encoded 99 "$ok"
mt idn 99 "dmarc=none from=xn--bcher-kva.test"
mt empty_body 99 "$ok"
mt empty_body_out 99 "dkim-sign=ok d=example.test s=rsa1"
grep -q '^hdr Authentication-Results=.*header.from=xn--bcher-kva.test' "$W/out/idn" ||
	mw_fail "idn: no Authentication-Results with the A-label"
grep -q '^hdr DKIM-Signature=' "$W/out/empty_body_out" || mw_fail "empty body not signed"

# --- through the private Postfix, which adds no header of its own ---
mw_postfix_start "header_size_limit = 200000" "local_header_rewrite_clients ="
# pf CODE NAME - send $W/NAME.eml (swaks makes its LF CRLF) from
# NAME@example.test, client 192.0.2.10: the SMTP reply, daemon alive
pf() {
	mw_send_expect "$1" --from "$2@example.test" --xclient-addr 192.0.2.10 -n --data "@$W/$2.eml"
	mw_alive "$MW_PID" || mw_fail "mailwarden died on $2"
	mw_log_wait "from=<$2@example.test>" 5 || mw_fail "no log line for $2"
}
s1000=$(head -c 1000 /dev/zero | tr '\0' s)
s64k=$(head -c 65536 /dev/zero | tr '\0' s)
printf 'From: pf1000@example.test\nSubject: %s\n\nbody\n' "$s1000" >"$W/pf1000.eml"
printf 'From: pf64k@example.test\nSubject: %s\n\nbody\n' "$s64k" >"$W/pf64k.eml"
printf 'From: %s <pf64kfrom@example.test>\n\nbody\n' "$s64k" >"$W/pf64kfrom.eml"
{
	echo "From: pfmany@example.test"
	for i in $(seq 1 10000); do echo "X-H$i: v"; done
	printf '\nbody\n'
} >"$W/pfmany.eml"
printf '\nno headers at all\n' >"$W/pfnohdr.eml"
printf 'From: pfnul@example.test\0@evil.example\nSubject: a\0b\n\nbo\0dy\n' >"$W/pfnul.eml"

pf 250 pf1000
line pf1000 "$ok"
pf 250 pf64k
line pf64k "$ok"
pf 552 pfmany
line pfmany "headers=too-many-or-too-large, action=reject at header 552 5.3.4"
pf 550 pfnohdr
line pfnohdr "dmarc=permerror (no From header), $reject"
pf 250 pfnul
line pfnul "$ok"
# A HELO longer than any host name (the milter keeps 255 bytes): cut
# visibly, never taken for another name.
printf 'From: pfhelo@example.test\n\nbody\n' >"$W/pfhelo.eml"
mw_send_expect 250 --from pfhelo@example.test --xclient-addr 192.0.2.10 -n --data "@$W/pfhelo.eml" \
	--helo "$(head -c 290 /dev/zero | tr '\0' h).example.test"
mw_log_wait "from=<pfhelo@example.test>" 5 || mw_fail "no log line for pfhelo"
line pfhelo "spf-helo=none"

# A header longer than Postfix keeps (it cut the 64 KB Subject at about
# 60000 bytes, for mailwarden and the recipient alike: the journal's copy
# is the delivered one) loses the From's address: 550 then, 250 if whole.
# subject_len FILE - the number of s in FILE's Subject, folded lines included
subject_len() {
	awk '/^Subject: /{p=1; n=0} p && !/^Subject: / && !/^[ \t]/{exit} p{n += gsub(/s/, "")} END{print n+0}' "$1"
}
mw_wait_delivered 4 >/dev/null || mw_fail "the accepted messages were not delivered"
grep -q "smtp.helo=h*\.\.\.;" "$(grep -l '^From: pfhelo@' "$MW_SINK_DIR"/*)" ||
	mw_fail "the long HELO is not shown cut in Authentication-Results"
kept=$(subject_len "$(grep -l '^From: pf64k@' "$W"/journal/*/*.eml)")
delivered=$(subject_len "$(grep -l '^From: pf64k@' "$MW_SINK_DIR"/*)")
[ "$kept" -gt 1000 ] && [ "$kept" = "$delivered" ] ||
	mw_fail "the 64 KB Subject: $kept bytes journaled, $delivered delivered"
if [ "$kept" -lt 65536 ]; then
	pf 550 pf64kfrom
	line pf64kfrom "dmarc=permerror (unusable From header: display name without an address)"
else
	pf 250 pf64kfrom
	line pf64kfrom "$ok"
fi

mw_alive "$MW_PID" || mw_fail "mailwarden died"
"$MW_BUILDDIR/mailwarden-archive" verify "$W/journal" >"$W/verify.log" 2>&1 ||
	mw_fail "the journal does not verify: $(tail -5 "$W/verify.log")"
echo "PASS: hostile input with every feature on"
