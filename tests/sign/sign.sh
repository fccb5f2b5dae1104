#!/bin/bash
# sign.sh - outbound DKIM signing through miltertest. Keys from
# mailwarden-keygen are published in the test's nsd; every outbound message
# gets an RSA and an Ed25519 signature that dkimpy and opendkim-testmsg
# verify (plain, folded/duplicate/8-bit headers, 8-bit body, long lines,
# CRLF/LF mixes, 20 MB body, subdomain, KeyTable/SigningTable
# keys, SASL); inbound mail and every other reason not to sign is left
# unsigned with the reason on its log line. A reload switches to
# simple/simple with x= and a fallback domain; a reload with a broken key is
# refused and the running configuration goes on signing.
. "$MW_SRCDIR/tests/lib/common.sh"
. "$MW_SRCDIR/tests/sign/lib.sh"
mw_init
mw_need miltertest nsd dig /usr/bin/python3 opendkim-testmsg

sign_keys
mw_nsd_start "$W/zones"
sign_conf
mw_mailwarden_start "$W/mw.conf"
sock="inet:$MW_PORT@127.0.0.1"

# expect QID TEXT - the message's log line holds TEXT (fixed string)
expect() {
	grep "^.*$1: client=" "$W/mailwarden.log" | grep -qF -- "$2" ||
		mw_fail "$1: no log line with \"$2\": $(grep "$1: client=" "$W/mailwarden.log")"
}

# --- phase 1: the first configuration ---
mw_miltertest "$MW_SRCDIR/tests/sign/sign.lua" MW_SOCKET="$sock" MW_OUT="$W/out" MW_PHASE=1 ||
	mw_fail "miltertest phase 1"
mw_log_wait "QSASL: client=" || mw_fail "no log line for the last message"

both="--count 2 --algs ed25519-sha256,rsa-sha256 --canon relaxed/relaxed"
for q in QPLAIN QSUB QODD QDUPSUBJ QBIG QSASL; do
	sign_check "$W/out/$q.eml" $both --domain example.test
	expect $q "dkim-sign=ok d=example.test s=rsa1,ed1"
done
expect QODD "(a body line is over 998 bytes: an MTA that folds it breaks the signature)"
sign_check "$W/out/QTABLE.eml" $both --domain tables.test --split "$W/out/QTABLE"
expect QTABLE "dkim-sign=ok d=tables.test s=tr,te"
expect QINBOUND "dir=inbound (external)"
expect QINBOUND "dkim-sign=skip (inbound)"
expect QSASL "dir=outbound (sasl)"
expect QNOFROM "dkim-sign=skip (no From)"
expect QTWOFROM "dkim-sign=skip (2 From headers)"
expect QTWOADDR "dkim-sign=skip (From has 2 addresses)"
expect QBADFROM "dkim-sign=skip (From unreadable: display name without an address)"
expect QNOKEY "dkim-sign=skip (no key for nokey.test)"
expect QALREADY "dkim-sign=skip (already signed d=example.test s=rsa1)"

# An independent implementation: libopendkim's opendkim-testmsg, each
# signature on its own (RSA, then Ed25519).
sign_check "$W/out/QODD.eml" --count 2 --split "$W/out/QODD"
sign_testmsg "$W/out/QODD.0.eml" "$W/out/QODD.1.eml" "$W/out/QTABLE.0.eml" "$W/out/QTABLE.1.eml"

# --- phase 2: reload to simple/simple, x=, a fallback domain ---
sign_conf 'sign_canonicalization = "simple/simple"' 'sign_expire = 3600' \
	'sign_fallback_domain = "example.test"'
cp "$W/mw.conf" "$W/mw2.conf"
kill -HUP "$MW_PID"
mw_log_wait "reloaded configuration" || mw_fail "no reload"
mw_miltertest "$MW_SRCDIR/tests/sign/sign.lua" MW_SOCKET="$sock" MW_OUT="$W/out" MW_PHASE=2 ||
	mw_fail "miltertest phase 2"
mw_log_wait "Q2SIMPLE: client=" || mw_fail "no log line for Q2SIMPLE"
simple="--count 2 --domain example.test --canon simple/simple --expire 3600"
sign_check "$W/out/Q2FALLBACK.eml" $simple
expect Q2FALLBACK "dkim-sign=ok d=example.test s=rsa1,ed1 (fallback for nokey.test)"
sign_check "$W/out/Q2SIMPLE.eml" $simple --split "$W/out/Q2SIMPLE"
sign_testmsg "$W/out/Q2SIMPLE.0.eml" "$W/out/Q2SIMPLE.1.eml"

# --- phase 3: a reload with a corrupt key fails and changes nothing ---
echo "garbage" >"$W/keys/broken.key"
chmod 600 "$W/keys/broken.key"
cat "$W/mw2.conf" - >"$W/mw.conf" <<EOF
sign "broken.test" {
	key "b" { file = "$W/keys/broken.key" }
}
EOF
kill -HUP "$MW_PID"
mw_log_wait "reload failed" || mw_fail "the broken key was not refused"
grep -q "key file $W/keys/broken.key: neither a PEM private key" "$W/mailwarden.log" ||
	mw_fail "the reload error does not name the key file"
mw_miltertest "$MW_SRCDIR/tests/sign/sign.lua" MW_SOCKET="$sock" MW_OUT="$W/out" MW_PHASE=3 ||
	mw_fail "miltertest phase 3"
mw_log_wait "Q3SIMPLE: client=" || mw_fail "no log line for Q3SIMPLE"
sign_check "$W/out/Q3FALLBACK.eml" $simple
sign_check "$W/out/Q3SIMPLE.eml" $simple
echo "PASS: signing, verification, reasons, reloads"
