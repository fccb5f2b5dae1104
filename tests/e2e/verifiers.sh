#!/bin/bash
# verifiers.sh - the test harness's own checks: the independent verifiers
# (tests/lib/verify.py, opendkim-testmsg through tests/lib/resolv_shim.so)
# against a real nsd must say pass for good input and fail for bad, so
# the feature tests that lean on them cannot pass vacuously.
#  - nsd answers UDP and TCP; an unknown *.test name is NXDOMAIN;
#  - dkimpy and libopendkim both verify RSA 2048, RSA 4096 (key over TCP)
#    and Ed25519 (dkimpy) signatures, and both refuse a changed body and
#    an unpublished selector; the shim, not the system resolver, is what
#    opendkim-testmsg asked (a dead TEST_DNS_SERVER makes it fail);
#  - a smtp-sink file is cut back to the message as relayed;
#  - pyspf: pass, fail, softfail, none (NXDOMAIN);
#  - Authentication-Results: parsed, matched, and a wrong expectation fails.
. "$MW_SRCDIR/tests/lib/common.sh"
mw_init
mw_need nsd nsd-checkzone dig /usr/bin/python3 opendkim-testmsg openssl dknewkey

mkdir -p "$W/zones" "$W/keys"
cat >"$W/zones/example.test.zone" <<EOF
\$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@ IN NS ns.test.
@ IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
soft IN TXT "v=spf1 ip4:192.0.2.0/24 ~all"
EOF
mw_verify dkimkey rsa "$W/keys/rsa.key" rsa >>"$W/zones/example.test.zone"
mw_verify dkimkey rsa "$W/keys/big.key" big --bits 4096 >>"$W/zones/example.test.zone"
mw_verify dkimkey ed25519 "$W/keys/ed.key" ed >>"$W/zones/example.test.zone"
mw_nsd_start "$W/zones"

# --- DNS: TCP for the 4096-bit key; NXDOMAIN outside the zones ------------
dig +tcp +short -p "$MW_DNS_PORT" @127.0.0.1 big._domainkey.example.test TXT | grep -q 'k=rsa' ||
	mw_fail "no 4096-bit key over TCP"
dig -p "$MW_DNS_PORT" @127.0.0.1 nosuch.test A | grep -q 'status: NXDOMAIN' ||
	mw_fail "an unknown .test name is not NXDOMAIN"

cat >"$W/m.txt" <<'EOF'
From: Alice <alice@example.test>
To: bob@example.org
Subject: harness check
Date: Mon, 05 Jan 2026 10:11:12 +0000
Message-ID: <harness@example.test>

Hello Bob.
EOF

# sign NAME SELECTOR ALG - $W/NAME.eml, signed by example.test
sign() {
	mw_verify sign "$W/m.txt" --domain example.test --selector "$2" \
		--key "$W/keys/$2.key" --alg "$3" >"$W/$1.eml" || mw_fail "dkimpy could not sign ($2)"
}
sign rsa rsa rsa
sign big big rsa
sign ed ed ed25519
sign nokey rsa rsa
sed -i 's/ s=rsa;/ s=unpublished;/' "$W/nokey.eml"
sed 's/Hello Bob/Hello Eve/' "$W/rsa.eml" >"$W/tampered.eml"

# --- dkimpy ----------------------------------------------------------------
for m in rsa big ed; do
	mw_verify dkim "$W/$m.eml" --count 1 --domain example.test >>"$W/verify.log" ||
		mw_fail "dkimpy refused the good $m signature: $(tail -n 2 "$W/verify.log")"
done
for m in tampered nokey; do
	mw_verify dkim "$W/$m.eml" --expect fail >>"$W/verify.log" ||
		mw_fail "dkimpy did not refuse the $m message"
	mw_verify dkim "$W/$m.eml" >>"$W/verify.log" 2>&1 &&
		mw_fail "verify.py dkim says pass for the $m message"
done
mw_verify dkim "$W/m.txt" --expect none >>"$W/verify.log" || mw_fail "unsigned message: not 'none'"

# --- libopendkim (opendkim-testmsg through the resolver shim) --------------
for m in rsa big ed; do
	mw_testmsg "$W/$m.eml" >>"$W/testmsg.log" 2>&1 ||
		mw_fail "opendkim-testmsg refused the good $m signature: $(tail -n 3 "$W/testmsg.log")"
done
for m in tampered nokey; do
	mw_testmsg "$W/$m.eml" >>"$W/testmsg.log" 2>&1 &&
		mw_fail "opendkim-testmsg accepted the $m message"
done
# The shim is what points it at nsd: a dead server makes the good one fail.
dead=$(mw_port)
MW_DNS_PORT=$dead mw_testmsg "$W/rsa.eml" >>"$W/testmsg.log" 2>&1 &&
	mw_fail "opendkim-testmsg verified with no DNS server: it does not use the shim"

# --- a smtp-sink file -------------------------------------------------------
{
	printf 'X-Client-Addr: 127.0.0.1\nX-Client-Proto: ESMTP\nX-Helo-Args: mx.example.test\n'
	printf 'X-Mail-Args: <alice@example.test>\nX-Rcpt-Args: <bob@example.org> ORCPT=rfc822;bob@example.org\n'
	printf 'Received: from mx.example.test ([127.0.0.1])\n\tby sink.example.test (smtp-sink) with ESMTP id 1;\n'
	printf '\tMon, 05 Jan 2026 10:11:13 +0000 (UTC)\n'
	tr -d '\r' <"$W/rsa.eml"
	echo
} >"$W/sink.eml"
mw_verify sinkmsg "$W/sink.eml" | cmp -s - "$W/rsa.eml" || mw_fail "sinkmsg does not give back the message"
[ "$(mw_verify envelope "$W/sink.eml" | tr '\n' ' ')" = "from alice@example.test rcpt bob@example.org " ] ||
	mw_fail "envelope: $(mw_verify envelope "$W/sink.eml")"
mw_verify dkim "$W/sink.eml" >>"$W/verify.log" || mw_fail "dkimpy refused the sink copy"
mw_testmsg "$W/sink.eml" >>"$W/testmsg.log" 2>&1 || mw_fail "opendkim-testmsg refused the sink copy"

# --- SPF ---------------------------------------------------------------------
spf_is() {
	mw_verify spf "$1" "$2" client.example.test --expect "$3" >>"$W/verify.log" ||
		mw_fail "SPF $1 $2: expected $3, got $(tail -n 1 "$W/verify.log")"
}
spf_is 192.0.2.10 alice@example.test pass
spf_is 198.51.100.1 alice@example.test fail
spf_is 198.51.100.1 alice@soft.example.test softfail
spf_is 198.51.100.1 alice@nosuch.example.test none
mw_verify spf 198.51.100.1 alice@example.test h --expect pass >>"$W/verify.log" &&
	mw_fail "verify.py spf --expect pass matched a fail"

# --- Authentication-Results ---------------------------------------------------
{
	printf 'Authentication-Results: mx.example.test;\n\tdkim=pass header.d=example.test header.s=rsa;\n'
	printf '\tspf=fail smtp.mailfrom=alice@example.test\n'
	printf 'Authentication-Results: other.example; dmarc=pass header.from=example.test\n'
	cat "$W/m.txt"
} >"$W/ar.eml"
mw_verify authres "$W/ar.eml" --authserv-id mx.example.test --expect 'dkim=pass header.d=example.test' \
	--expect 'spf=fail smtp.mailfrom=alice@example.test' >>"$W/verify.log" ||
	mw_fail "authres: $(tail -n 3 "$W/verify.log")"
mw_verify authres "$W/ar.eml" --authserv-id mx.example.test --expect 'dmarc=pass' >>"$W/verify.log" &&
	mw_fail "authres matched another authserv-id's result"
mw_verify authres "$W/ar.eml" --expect 'dkim=fail' >>"$W/verify.log" &&
	mw_fail "authres matched dkim=fail against dkim=pass"
exit 0
