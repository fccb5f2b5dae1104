#!/bin/bash
# keys.sh - key safety and key checks, no daemon needed:
# - mailwarden -n (and a real start) refuses a group-readable key, a
#   corrupt key, a missing key file, a key the run-as user cannot read,
#   and bad KeyTable/SigningTable lines: exit 78, the file named;
# - mailwarden -K compares each key with its TXT record published from
#   mailwarden-keygen's output: match, mismatch, no record, revoked.
. "$MW_SRCDIR/tests/lib/common.sh"
. "$MW_SRCDIR/tests/sign/lib.sh"
mw_init
mw_need nsd dig

sign_keys
# One selector never published, one revoked (empty p=).
"$KEYGEN" -d example.test -s unpub -o "$W/keys/unpub.key" >/dev/null || mw_fail "keygen unpub"
"$KEYGEN" -t ed25519 -d example.test -s revoked -o "$W/keys/revoked.key" >/dev/null ||
	mw_fail "keygen revoked"
echo 'revoked._domainkey.example.test. IN TXT "v=DKIM1; k=ed25519; p="' >>"$W/zones/example.test.zone"
mw_nsd_start "$W/zones"

# nok CONF_LINES... - mailwarden -n must exit 78 with every given message
nok() {
	local want out rc=0
	out=$("$MW_BIN" -n -c "$W/mw.conf" 2>&1) || rc=$?
	[ "$rc" -eq 78 ] || mw_fail "mailwarden -n exited $rc, expected 78: $out"
	for want in "$@"; do
		printf '%s\n' "$out" | grep -qF -- "$want" ||
			mw_fail "mailwarden -n does not say \"$want\": $out"
	done
}

# --- the keys as made: valid ---
sign_conf
"$MW_BIN" -n -c "$W/mw.conf" >/dev/null || mw_fail "valid configuration refused"

# --- group-readable, then writable by others ---
chmod 640 "$W/keys/rsa1.key"
nok "mw.conf:9: key file $W/keys/rsa1.key: mode 0640 gives group or others access"
chmod 602 "$W/keys/rsa1.key"
nok "key file $W/keys/rsa1.key: mode 0602"
chmod 600 "$W/keys/rsa1.key"

# --- corrupt and missing keys, each with its line ---
head -c 300 "$W/keys/rsa1.key" >"$W/keys/cut.key"
chmod 600 "$W/keys/cut.key"
sign_conf 'sign "other.test" {' '	key "cut" { file = "'"$W"'/keys/cut.key" }' \
	'	key "gone" { file = "'"$W"'/keys/missing.key" }' '}'
nok "mw.conf:15: key file $W/keys/cut.key: not a usable PEM private key" \
	"mw.conf:16: key file $W/keys/missing.key: No such file or directory" "2 errors"

# A real start fails the same way, before opening the milter socket.
rc=0
out=$("$MW_BIN" -f -c "$W/mw.conf" 2>&1) || rc=$?
[ "$rc" -eq 78 ] || mw_fail "start with a broken key exited $rc: $out"
printf '%s\n' "$out" | grep -qF "missing.key: No such file" || mw_fail "start: $out"

# --- the user mailwarden runs as must be able to read the keys ---
if [ "$(id -u)" = 0 ] && id mailwarden >/dev/null 2>&1; then
	sign_conf 'user = "mailwarden"'
	sed -i '/^user = ""/d' "$W/mw.conf"
	chmod 711 "$W" "$W/keys"
	nok "user mailwarden, which mailwarden runs as, cannot read it"
	chown mailwarden "$W/keys/rsa1.key" "$W/keys/ed1.key" "$W/keys/tr.key" "$W/keys/te.key"
	"$MW_BIN" -n -c "$W/mw.conf" >/dev/null || mw_fail "keys owned by the run-as user refused"
	chown root "$W/keys/"*.key
fi

# --- KeyTable and SigningTable problems ---
cp "$W/KeyTable" "$W/KeyTable.good"
cp "$W/SigningTable" "$W/SigningTable.good"
printf 'x\ttables.test:x:keys/relative.key\n' >>"$W/KeyTable"
printf 'bob@tables.test\ttr\n' >>"$W/SigningTable"
sign_conf
nok "mw.conf:12: option 'keytable': KeyTable $W/KeyTable:4: \"x\": give the key as an absolute file path" \
	"mw.conf:13: option 'signingtable': SigningTable $W/SigningTable:3: pattern \"bob@tables.test\": per-user patterns"
mv "$W/KeyTable.good" "$W/KeyTable"
mv "$W/SigningTable.good" "$W/SigningTable"

# --- mailwarden -K: keys against DNS ---
# kconf SECTION_LINES... - a configuration with only these sign sections
kconf() {
	{
		printf 'pid_file = ""\nuser = ""\ndns_servers = {127.0.0.1:%s}\n' "$MW_DNS_PORT"
		printf '%s\n' "$@"
	} >"$W/k.conf"
}
key() {
	echo "	key \"$1\" { file = \"$W/keys/$1.key\" }"
}
kline() {
	grep -F -- "$1" "$W/K.out" | grep -qF -- "$2" ||
		mw_fail "mailwarden -K: no line for $1 with \"$2\": $(cat "$W/K.out")"
}
# krun STATUS - mailwarden -K must exit with STATUS
krun() {
	local rc=0
	"$MW_BIN" -K -c "$W/k.conf" >"$W/K.out" 2>&1 || rc=$?
	[ "$rc" -eq "$1" ] || mw_fail "mailwarden -K exited $rc, expected $1: $(cat "$W/K.out")"
}
kconf 'sign "example.test" {' "$(key rsa1)" "$(key ed1)" "$(key unpub)" "$(key revoked)" '}' \
	'sign "tables.test" {' "$(key tr)" "$(key te)" '}'
krun 1
kline "example.test s=rsa1 (rsa 2048 bits" "ok, matches the record at rsa1._domainkey.example.test"
kline "example.test s=ed1 (ed25519" "ok, matches the record"
kline "tables.test s=tr (rsa 1024 bits" "ok, matches the record"
kline "tables.test s=te (ed25519" "ok, matches the record"
kline "example.test s=unpub" "no TXT record at unpub._domainkey.example.test"
kline "example.test s=revoked" "the key is revoked in DNS (empty p=)"

# Only matching keys: 0. A key replaced on disk but not in DNS: a mismatch.
kconf 'sign "example.test" {' "$(key rsa1)" "$(key ed1)" '}'
krun 0
rm "$W/keys/rsa1.key"
"$KEYGEN" -d example.test -s rsa1 -o "$W/keys/rsa1.key" >/dev/null || mw_fail "keygen rsa1 again"
krun 1
kline "example.test s=rsa1" "MISMATCH: the key in DNS is not the public half of the key file"
kline "example.test s=ed1" "ok, matches the record"

# No keys at all: 2.
kconf 'signing = no'
krun 2
echo "PASS: unsafe, corrupt, missing and unreadable keys stop the start; -K checks DNS"
