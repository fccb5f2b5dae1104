#!/bin/bash
# postfix.sh - outbound signing end to end: swaks -> private Postfix ->
# mailwarden -> smtp-sink, keys from mailwarden-keygen in the test's nsd.
#  1. an internal client (XCLIENT 192.0.2.10) and a SASL client (XCLIENT
#     LOGIN from an external address): RSA and Ed25519 signatures that
#     dkimpy and opendkim-testmsg each accept, on the message as relayed;
#  2. an external client: inbound, relayed unsigned, the reason logged;
#  3. odd messages sent raw (swaks --no-data-fixup): folded and duplicate
#     headers, "Subject:" without a space and with two, 8-bit header and
#     body, 998-byte lines, bare LF and CRLF mixed, an empty body, a 20 MB
#     body; signed and verified with relaxed/relaxed, then, after a
#     reload, with simple/simple (which proves the headers are rebuilt
#     byte for byte: Postfix's LEADSPC, "Subject:x", "Reply-To:  x");
#  4. two From addresses: relayed unsigned with the reason logged.
. "$MW_SRCDIR/tests/lib/common.sh"
. "$MW_SRCDIR/tests/lib/postfix.sh"
. "$MW_SRCDIR/tests/sign/lib.sh"
mw_init
mw_postfix_need
mw_need nsd dig /usr/bin/python3 opendkim-testmsg

sign_keys
mw_nsd_start "$W/zones"
MW_PORT=$(mw_port)
MW_MILTER_PORT=$MW_PORT
sign_conf
mw_mailwarden_start "$W/mw.conf"
mw_postfix_start "message_size_limit = 52428800"

both="--count 2 --algs ed25519-sha256,rsa-sha256 --domain example.test"
n=0

# sent - after one more message was sent: its sink file in $F, its queue ID in $Q
sent() {
	n=$((n + 1))
	F=$(mw_wait_delivered "$n" 60 | tail -n 1) || mw_fail "message $n not delivered"
	Q=$(mw_sink_qid "$F")
	mw_log_wait "$Q: client=" || mw_fail "no log line for $Q"
}

# logged TEXT - the last message's log line holds TEXT
logged() {
	grep "$Q: client=" "$W/mailwarden.log" | grep -qF -- "$1" ||
		mw_fail "$Q: no log line with \"$1\": $(grep "$Q: client=" "$W/mailwarden.log")"
}

# both_verifiers FILE [ARG...] - dkimpy on the relayed message, then
# opendkim-testmsg on each signature alone
both_verifiers() {
	local f=$1 s
	shift
	s="$W/out/$(basename "$f")"		# never in the sink's directory
	sign_check "$f" "$@" --split "$s"
	sign_testmsg "$s.0.eml" "$s.1.eml"
}

# raw NAME - a message file for swaks --data @FILE --no-data-fixup, from
# stdin (LF line ends become CRLF unless the line ends in "\\n"), ended
# with the SMTP end-of-data dot (swaks adds its CRLF)
raw() {
	{ sed -e 's/\\n$//;t' -e 's/$/\r/'; printf '.'; } >"$W/$1.raw"
}

# --- 1. outbound: internal address, then SASL ---
mw_send --xclient-addr 192.0.2.10 || mw_fail "swaks (internal)"
sent
both_verifiers "$F" $both
logged "dir=outbound (internal_hosts)"
logged "dkim-sign=ok d=example.test s=rsa1,ed1"
mw_send --xclient-addr 198.51.100.7 --xclient-login alice || mw_fail "swaks (sasl)"
sent
both_verifiers "$F" $both
logged "dir=outbound (sasl)"

# --- 2. inbound: not signed ---
mw_send --xclient-addr 198.51.100.7 --from carol@example.test || mw_fail "swaks (inbound)"
sent
grep -qi '^DKIM-Signature:' "$F" && mw_fail "inbound message signed"
logged "dkim-sign=skip (inbound)"

# --- 3. odd messages ---
long=$(printf '%0998d' 7)
raw odd <<EOF
Received: from a.example.test by b.example.test;
	Mon, 23 Nov 2026 06:59:00 +0000
Received: from c.example.test by a.example.test; Mon, 23 Nov 2026 06:58:00 +0000
From: "Doe, John"
	(the boss, really) <john@example.test>
To: a@example.org,
 b@example.org
Subject:no space after the colon
Reply-To:  two spaces, then	a tab <reply@example.test>
Comments: Grüße aus Köln – 8-bit
Comments: second
Date: Mon, 23 Nov 2026 07:00:00 +0000
Message-ID: <odd.1@example.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Line with CRLF.
Line with a bare LF only.\n
Grüße, raw 8-bit.
$long
trailing spaces and	tabs   
\n

EOF
printf 'From: <john@example.test>\nSubject: empty body\nMessage-ID: <empty.1@example.test>\n' | raw empty
/usr/bin/python3 - "$W/big.raw" <<'PY'
import sys
line = b'0123456789' * 99 + b'\r\n'                 # 992 bytes
with open(sys.argv[1], 'wb') as f:
    f.write(b'From: <john@example.test>\r\nSubject: 20 MB\r\n'
            b'Message-ID: <big.1@example.test>\r\n\r\n')
    f.write(line * (20 * 1024 * 1024 // len(line) + 1))
    f.write(b'.')
PY

# odd_round CANON MESSAGE... - raw messages, signed with CANON and verified
odd_round() {
	local m c=$1
	shift
	for m in "$@"; do
		mw_send --xclient-addr 192.0.2.10 --data "@$W/$m.raw" --no-data-fixup ||
			mw_fail "swaks ($m, $c)"
		sent
		both_verifiers "$F" $both --canon "$c"
		logged "dkim-sign=ok d=example.test s=rsa1,ed1"
	done
}
odd_round relaxed/relaxed odd empty big
sign_conf 'sign_canonicalization = "simple/simple"'
kill -HUP "$MW_PID"
mw_log_wait "reloaded configuration" || mw_fail "no reload"
odd_round simple/simple odd empty

# --- 4. two From addresses: unsigned, reason logged ---
printf 'From: a@example.test, b@example.test\nSender: a@example.test\nSubject: two\n\nx\n' | raw two
mw_send --xclient-addr 192.0.2.10 --data "@$W/two.raw" --no-data-fixup || mw_fail "swaks (two)"
sent
grep -qi '^DKIM-Signature:' "$F" && mw_fail "message with two From addresses signed"
logged "dkim-sign=skip (From has 2 addresses)"
echo "PASS: signed through Postfix, verified by dkimpy and opendkim-testmsg"
