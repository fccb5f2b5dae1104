#!/bin/bash
# resolver.sh - the one resolver (src/dns.c) against a real nsd, through
# tests/dns/dnsq: TXT (strings joined, several records), A, AAAA, MX, PTR,
# NXDOMAIN, NODATA and REFUSED as each consumer sees them (raw, the
# libspf2 layer, the libopendkim hooks); a 4096-bit DKIM key over TCP;
# an IPv6 server address; the cache answering a second lookup (any case,
# final dot) and a negative answer with no query reaching nsd, and asking
# again once the TTL ran out; a dead server, a silent one (the budget cuts
# the wait), a silent first server (the second answers), and a server
# whose TCP never answers.
. "$MW_SRCDIR/tests/lib/common.sh"
mw_init
mw_need nsd nsd-control nsd-checkzone dig /usr/bin/python3
DNSQ="$MW_BUILDDIR/tests/dns/dnsq"
[ -x "$DNSQ" ] || mw_fail "$DNSQ is not built (make check builds it)"

# A 4096-bit RSA public key (the private half was thrown away): its TXT
# record is 754 bytes, a reply of about 830, so it needs TCP.
KEY4K="MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEA2x1VQogCFQ8WvF4hrEnD2CihrbuOm6lIc5jgVbW+hxxmwraDruX2QD8lJKyVHGToFXZ1zxWWRo26YJnBTgcea3Xb9d7Wi2RItkFhF3hci7AaLVH21AyZP7W+3x1vv9s5UYYsHxQziQmyHZEWH/+q1xubmLGeDusEGNKHP4nRKGAl+XxGre/teojnNtleoLi4HGUdfspmyNzoUcVjcLAUs+Nq/MPBBSpUmGFOvc42rIkPGnlK6GIz/4RsfsghfL3EbRSUXCSfcVaTBEYRHGzovsn6oKcCErALznFkcg0pEqnSctWtBS3TnfcJ727sLDXTA91mfXQDRefNc7NCik4UEM6m+RwYtTnuqMzZLpSwRz1gL0rhZnOazvIU+4ydYLdrLv4LvtVKI6br7hmE3mW5ksr83lMPT6kGDuZIlVaw9ODhPidbnZBIMAFWHcu85T3Z58fSId+UdDAhJ/brUrfjnvolNl9Ob459l6gfRFcl3ZYoNnC4rw9pOrbMLGQCyDhT7TmnKHwtSy51RY8JxcPMWQi+ZUrc1egQtu3/3sPYimLolsukQyL81ULFEPcIiKX9bYxfD6diBDZ09VQXen7BBozTXLCma01C3/NvtIj0xu9yyyVpPadz05d7xcWPKW0oEnMeeRLU0xoshLPCy8jBIkCyBiW09ihRsEE1XajsookCAwEAAQ=="
mkdir -p "$W/zones"
key_txt() {	# the record in 250-byte strings, as zone files hold it
	local rec="v=DKIM1; k=rsa; p=$1" i out=""
	for ((i = 0; i < ${#rec}; i += 250)); do out+="\"${rec:i:250}\" "; done
	echo "$out"
}
cat >"$W/zones/example.test.zone" <<EOF
\$TTL 300
@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60
@ IN NS ns.example.test.
ns IN A 127.0.0.1
@ IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
@ IN MX 10 mx.example.test.
mx IN A 192.0.2.25
mx IN AAAA 2001:db8::25
host IN A 192.0.2.1
host IN A 192.0.2.2
multi IN TXT "part one " "part two"
multi IN TXT "second record"
c1 IN TXT "cache me"
c2 IN TXT "no cache"
alias IN CNAME host.example.test.
brief 1 IN TXT "one second"
sel4k._domainkey IN TXT $(key_txt "$KEY4K")
EOF
cat >"$W/zones/2.0.192.in-addr.arpa.zone" <<EOF
\$TTL 300
@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60
@ IN NS ns.example.test.
1 IN PTR host.example.test.
EOF
# IPv6 too when the loopback has ::1.
if grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; then
	MW_NSD_IPV6=1
fi
mw_nsd_start "$W/zones"
S="127.0.0.1:$MW_DNS_PORT"

# q ARGS... - run dnsq (20 s hard limit: a hang is a failure), output in $OUT
q() {
	OUT=$(timeout 20 "$DNSQ" "$@" 2>&1) || mw_fail "dnsq $* exited $?: $OUT"
	echo "$OUT" >>"$W/dnsq.log"
}
# want REGEX - a line of $OUT matches
want() {
	grep -Eq -- "$1" <<<"$OUT" || mw_fail "no line matching '$1' in:
$OUT"
}
# ms_of NAME - the ms= of the lookup of NAME in $OUT
ms_of() {
	sed -n "s/^[A-Za-z]* $1 .* ms=\([0-9]*\).*/\1/p" <<<"$OUT" | head -1
}
# delta COUNTER CMD... - run CMD, set D to how much nsd's counter grew
delta() {
	local key=$1 before after
	shift
	before=$(mw_nsd_queries "$key")
	"$@"
	after=$(mw_nsd_queries "$key")
	[[ "$before" =~ ^[0-9]+$ && "$after" =~ ^[0-9]+$ ]] ||
		mw_fail "cannot read nsd's $key counter ('$before', '$after')"
	D=$((after - before))
}

# --- answers, as each consumer sees them ---
q -s "$S" TXT example.test TXT multi.example.test TXT nx.example.test \
	TXT host.example.test TXT example.org A alias.example.test
want '^TXT example.test OK n=1 .* 28:v=spf1 ip4:192.0.2.0/24 -all$'
want '^TXT multi.example.test OK n=2 .* 17:part one part two 13:second record$'
want '^TXT nx.example.test NXDOMAIN n=0 '
want '^TXT host.example.test OK n=0 '		# NODATA
want '^TXT example.org TEMPFAIL n=0 .*REFUSED'	# out of nsd's zones
want '^A alias.example.test OK n=3 '		# CNAME + 2 A

q -s "$S" -m spf A host.example.test AAAA mx.example.test MX example.test \
	PTR 1.2.0.192.in-addr.arpa TXT multi.example.test TXT nx.example.test \
	TXT host.example.test TXT example.org A alias.example.test
want '^A host.example.test SUCCESS n=2 .* 192.0.2.1 192.0.2.2$'
want '^AAAA mx.example.test SUCCESS n=1 .* 2001:db8::25$'
want '^MX example.test SUCCESS n=1 .* 15:mx.example.test$'
want '^PTR 1.2.0.192.in-addr.arpa SUCCESS n=1 .* 17:host.example.test$'
want '^TXT multi.example.test SUCCESS n=2 .* 17:part one part two 13:second record$'
want '^TXT nx.example.test HOST_NOT_FOUND n=0 '
want '^TXT host.example.test NO_DATA n=0 '
want '^TXT example.org TRY_AGAIN n=0 '
want '^A alias.example.test SUCCESS n=2 .* 192.0.2.1 192.0.2.2$'
# The obsolete SPF type is NO_DATA without a query (libspf2 then asks TXT);
# a name no query can hold is HOST_NOT_FOUND (RFC 7208 4.3: "none").
long=$(printf 'a%.0s' $(seq 1 64)).example.test
delta num.queries q -s "$S" -m spf SPF example.test TXT "$long"
want '^SPF example.test NO_DATA n=0 '
want "^TXT $long HOST_NOT_FOUND n=0 "
[ "$D" -eq 0 ] || mw_fail "the SPF type or an invalid name sent $D queries to nsd"

# --- a 4096-bit key: truncated over UDP, asked again over TCP ---
delta num.tcp q -s "$S" -c 0 TXT sel4k._domainkey.example.test
want "^TXT sel4k._domainkey.example.test OK n=1 .* $((${#KEY4K} + 18)):v=DKIM1; k=rsa; p=MII"
grep -qF "p=$KEY4K" <<<"$OUT" || mw_fail "the 4096-bit key came back altered: $OUT"
[ "$D" -eq 1 ] || mw_fail "the 4096-bit key took $D TCP queries, not 1"
q -s "$S" -m dkim sel4k example.test nokey example.test sel4k nx.test
want '^sel4k example.test OK '
want "^nokey example.test FAIL .*record not found"
want "^sel4k nx.test FAIL .*record not found"

# --- IPv6 server address ---
if [ -n "${MW_NSD_IPV6:-}" ]; then
	delta num.udp6 q -s "[::1]:$MW_DNS_PORT" -c 0 TXT example.test
	want '^TXT example.test OK n=1 '
	[ "$D" -eq 1 ] || mw_fail "$D queries reached nsd over IPv6, not 1"
	delta num.tcp6 q -s "[::1]:$MW_DNS_PORT" -c 0 TXT sel4k._domainkey.example.test
	want '^TXT sel4k._domainkey.example.test OK n=1 '
	[ "$D" -eq 1 ] || mw_fail "$D TCP queries reached nsd over IPv6, not 1"
else
	echo "note: no ::1 on this host, IPv6 server address not tested" >&2
fi

# --- the cache: one query per name within the TTL ---
delta num.queries q -s "$S" TXT c1.example.test TXT C1.Example.TEST. TXT c1.example.test
want '^TXT C1.Example.TEST. OK n=1 .* 8:cache me$'
want '^stats queries=1 hits=2$'
[ "$D" -eq 1 ] || mw_fail "three lookups of one name sent $D queries to nsd, not 1"
delta num.queries q -s "$S" TXT nx2.example.test TXT nx2.example.test TXT host.example.test \
	TXT host.example.test
want '^stats queries=2 hits=2$'
[ "$D" -eq 2 ] || mw_fail "NXDOMAIN and NODATA were not cached: $D queries, not 2"
delta num.queries q -s "$S" -c 0 TXT c2.example.test TXT c2.example.test	# control
[ "$D" -eq 2 ] || mw_fail "without a cache two lookups sent $D queries, not 2"
delta num.queries q -s "$S" TXT brief.example.test sleep 2 TXT brief.example.test
want '^stats queries=2 hits=0$'
[ "$D" -eq 2 ] || mw_fail "a 1 s TTL answer outlived its TTL: $D queries, not 2"

# --- failures ---
dead=$(mw_port)					# nothing listens there
q -s "127.0.0.1:$dead" -t 5 TXT example.test
want '^TXT example.test TEMPFAIL n=0 .*connection refused'
q -s "127.0.0.1:$dead" -t 5 -m dkim sel4k example.test
want '^sel4k example.test FAIL .*query failed'
q -s "127.0.0.1:$dead" -t 5 -m spf TXT example.test
want '^TXT example.test TRY_AGAIN n=0 '

# A silent server (tests/lib/silent_dns.py: hears, never answers), and one
# whose UDP replies are truncated while its TCP accepts and never answers.
mw_dns_silent_start
silent=$MW_SILENT_DNS_PORT
tcsrv=$(mw_port)
/usr/bin/python3 - "$tcsrv" <<'EOF' &
import socket, sys, threading
port = int(sys.argv[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", port))
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", port))
t.listen(16)
held = []
def hold():
    while True:
        held.append(t.accept()[0])
threading.Thread(target=hold, daemon=True).start()
while True:
    q, a = u.recvfrom(4096)
    r = bytearray(q[:12]); r[2] |= 0x86; r[3] = 0	# QR AA TC
    u.sendto(bytes(r) + q[12:], a)
EOF
mw_track $!
mw_wait_port "$tcsrv" 5 || mw_fail "the truncating server did not start"

# The budget (1 s) cuts the wait short of the timeout (10 s); then every
# lookup fails at once.
q -s "127.0.0.1:$silent" -t 10 -b 1 TXT a.example.test TXT b.example.test
want '^TXT a.example.test TEMPFAIL n=0 .*no answer before the deadline'
want '^TXT b.example.test TEMPFAIL n=0 .*budget'
want '^stats queries=1 hits=0$'
mw_dns_silent_wait 'udp a.example.test' 1 || mw_fail "the query never reached the silent server"
[ "$(ms_of a.example.test)" -lt 5000 ] ||
	mw_fail "a silent server held the lookup $(ms_of a.example.test) ms past a 1 s budget"
# A silent first server: the second answers within the same lookup.
q -s "127.0.0.1:$silent" -s "$S" -t 4 TXT example.test
want '^TXT example.test OK n=1 '
# Truncated over UDP, TCP accepts and never answers: the timeout ends it.
q -s "127.0.0.1:$tcsrv" -t 1 TXT x.example.test
want '^TXT x.example.test TEMPFAIL n=0 .*no TCP answer before the deadline'
exit 0
