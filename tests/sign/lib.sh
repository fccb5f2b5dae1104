# lib.sh - helpers of the signing tests (source after tests/lib/common.sh).
#
#	sign_keys                   keys and zones in $W/keys, $W/zones:
#	                            example.test rsa1 (RSA 2048) + ed1 (Ed25519),
#	                            tables.test tr (RSA 1024) + te (Ed25519) with
#	                            $W/KeyTable and $W/SigningTable for them
#	sign_conf [LINE...]         $W/mw.conf on port $MW_PORT signing with them
#	sign_check FILE [ARG...]    dkimcheck.py against the test's nsd
#	sign_testmsg FILE...        opendkim-testmsg (mw_testmsg) must accept
#	                            every file

KEYGEN="$MW_BUILDDIR/mailwarden-keygen"

# sign_zone DOMAIN - the start of a zone file
sign_zone() {
	cat >"$W/zones/$1.zone" <<EOF
\$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@ IN NS ns.test.
EOF
}

# sign_keygen DOMAIN SELECTOR [KEYGEN_ARG...] - a key, published in the zone
sign_keygen() {
	local d=$1 s=$2
	shift 2
	"$KEYGEN" "$@" -d "$d" -s "$s" -o "$W/keys/$s.key" >>"$W/zones/$d.zone" ||
		mw_fail "mailwarden-keygen -d $d -s $s failed"
}

sign_keys() {
	mkdir -p "$W/keys" "$W/zones" "$W/out"
	chmod 700 "$W/keys"
	sign_zone example.test
	sign_zone tables.test
	sign_keygen example.test rsa1
	sign_keygen example.test ed1 -t ed25519
	sign_keygen tables.test tr -b 1024
	sign_keygen tables.test te -t ed25519
	cat >"$W/KeyTable" <<EOF
# OpenDKIM KeyTable
tr	tables.test:tr:$W/keys/tr.key
te	tables.test:te:$W/keys/te.key
EOF
	cat >"$W/SigningTable" <<EOF
*@tables.test	tr
*@tables.test	te
EOF
}

sign_conf() {
	local l
	MW_PORT=${MW_PORT:-$(mw_port)}
	{
		cat <<EOF
socket = "inet:$MW_PORT@127.0.0.1"
pid_file = ""
user = ""
internal_hosts = {192.0.2.0/24}
inbound_checks = no
dns_servers = {127.0.0.1:${MW_DNS_PORT:-53}}
sign "example.test" {
	subdomains = yes
	key "rsa1" { file = "$W/keys/rsa1.key" }
	key "ed1" { file = "$W/keys/ed1.key" }
}
keytable = "$W/KeyTable"
signingtable = "$W/SigningTable"
EOF
		for l in "$@"; do echo "$l"; done
	} >"$W/mw.conf"
}

sign_check() {
	/usr/bin/python3 "$MW_SRCDIR/tests/sign/dkimcheck.py" "$MW_DNS_PORT" "$@" >>"$W/dkimcheck.log" 2>&1 ||
		mw_fail "signature check failed: $* ($(tail -n 3 "$W/dkimcheck.log"))"
}

sign_testmsg() {
	local f
	for f in "$@"; do
		mw_testmsg "$f" >>"$W/testmsg.log" 2>&1 ||
			mw_fail "opendkim-testmsg refused $f: $(tail -n 3 "$W/testmsg.log")"
	done
}
