#!/bin/bash
# archive.sh - archive rules and the journal through the milter protocol:
# which archive recipients are added (once each), what the journal entry
# holds (the message byte for byte, the envelope as JSON, hostile bytes
# kept exactly), the 451 when the journal cannot be written and the
# best_effort acceptance, a 64 MB message streamed in bounded memory, and
# mailwarden-archive verify on the result.
. "$MW_SRCDIR/tests/lib/common.sh"
mw_init
mw_need miltertest nsd /usr/bin/python3

J=$W/journal
JPY="/usr/bin/python3 $MW_SRCDIR/tests/lib/journal.py"
mkdir -p "$J"
port=$(mw_port)

# The inbound checks run on inbound mail; the journal records their
# Authentication-Results. A local nsd answers their lookups: example.net
# passes SPF for 198.51.100.7; the parent zones make any other name NXDOMAIN.
mkdir -p "$W/zones"
for z in example.net example.com example.org net com org; do
	{
		echo "\$TTL 300"
		echo "@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300"
		echo "@ IN NS ns.test."
		[ $z = example.net ] && echo '@ IN TXT "v=spf1 ip4:198.51.100.7 -all"'
	} >"$W/zones/$z.zone"
done
mw_nsd_start "$W/zones"
conf() {	# conf BEST_EFFORT
	cat >"$W/mw.conf" <<EOF2
socket = "inet:$port@127.0.0.1"
pid_file = ""
user = ""
internal_hosts = {}
dns_servers = {127.0.0.1:$MW_DNS_PORT}
journal_dir = "$J"
archive "all" {
    bcc = {archive@example.test}
    journal = yes
    best_effort = $1
}
archive "org-in" {
    direction = inbound
    recipient_domains = {example.org}
    bcc = {ARCHIVE@Example.test, legal@example.test}
}
archive "carol-out" {
    direction = outbound
    sasl_users = {carol}
    bcc = {sales-archive@example.test}
}
archive "net-sender" {
    sender_domains = {example.net}
    direction = inbound
    bcc = {net-archive@example.test}
}
EOF2
}
# --- journal_dir is checked at load, errors with file:line ---------------
check_conf() {	# CONF PATTERN: mailwarden -n must fail with PATTERN
	local rc=0
	"$MW_BIN" -n -c "$1" >"$W/n.out" 2>&1 || rc=$?
	[ $rc -eq 78 ] || mw_fail "$1: mailwarden -n exits $rc: $(cat "$W/n.out")"
	grep -q -- "$2" "$W/n.out" || mw_fail "$1: no error matching $2: $(cat "$W/n.out")"
}
printf 'pid_file = ""\nuser = ""\njournal_dir = "%s"\narchive "a" {\n  journal = yes\n}\n' "$W/missing" >"$W/c1.conf"
check_conf "$W/c1.conf" "^$W/c1.conf:3: option 'journal_dir': $W/missing: No such file or directory"
printf 'pid_file = ""\nuser = ""\njournal_dir = "journal"\narchive "a" {\n  journal = yes\n}\n' >"$W/c2.conf"
check_conf "$W/c2.conf" "^$W/c2.conf:3: option 'journal_dir': \"journal\": give an absolute path"
printf 'pid_file = ""\nuser = ""\narchive "idle" {\n  direction = inbound\n}\n' >"$W/c3.conf"
check_conf "$W/c3.conf" "^$W/c3.conf:[0-9]*: archive \"idle\" does nothing"
printf 'pid_file = ""\nuser = ""\njournal_dir = "%s"\narchive "a" {\n  bcc = {not-an-address}\n  journal = yes\n}\n' "$J" >"$W/c4.conf"
check_conf "$W/c4.conf" "^$W/c4.conf:5: .*not-an-address.*is not a mail address"
if [ "$(id -u)" = 0 ]; then	# the run-as user, not root, must be able to write
	mkdir -p "$W/rootonly" && chmod 755 "$W/rootonly"
	printf 'pid_file = ""\nuser = "nobody"\njournal_dir = "%s"\narchive "a" {\n  journal = yes\n}\n' "$W/rootonly" >"$W/c5.conf"
	check_conf "$W/c5.conf" "^$W/c5.conf:3: option 'journal_dir': $W/rootonly is not writable by user nobody"
	chown nobody "$W/rootonly"
	"$MW_BIN" -n -c "$W/c5.conf" >"$W/n.out" 2>&1 || mw_fail "a directory nobody owns is refused: $(cat "$W/n.out")"
fi

conf no
mw_mailwarden_start "$W/mw.conf"
mt() { mw_miltertest "$MW_SRCDIR/tests/proto/archive.lua" MW_SOCKET="inet:$port@127.0.0.1" CASE=$1; }
log() { grep -q -- "$1" "$W/mailwarden.log" || mw_fail "no log line matching: $1"; }

# --- Rules and de-duplication -------------------------------------------
mt rules || mw_fail "miltertest case rules failed"
mw_log_wait "QARCH3: " || mw_fail "no log line for QARCH3"
log 'QARCH1: .*archive=matched, archive-bcc=3, journal=.*seq=1 chain=.*action=accept'
log 'QARCH2: .*archive=matched, archive-bcc=2, journal=.*seq=2 '
log 'QARCH3: .*archive=matched, journal=.*seq=3 '

# The entry of QARCH1: envelope and message.
$JPY check "$J" QARCH1 >/dev/null || mw_fail "QARCH1: record and .eml disagree"
[ "$($JPY get "$J" QARCH1 rcpt_to)" = "bob@example.org
carol@example.org
dave@example.com" ] || mw_fail "QARCH1: rcpt_to is not the three envelope recipients"
[ "$($JPY get "$J" QARCH1 archive_rcpt_to)" = "archive@example.test
legal@example.test
net-archive@example.test" ] || mw_fail "QARCH1: archive_rcpt_to wrong: $($JPY get "$J" QARCH1 archive_rcpt_to)"
[ "$($JPY get "$J" QARCH1 rules)" = "all
org-in
net-sender" ] || mw_fail "QARCH1: matched rules wrong"
for kv in mail_from=alice@example.net client_address=198.51.100.7 client_name=mail.example.net \
	helo=mail.example.net direction=inbound queue_id=QARCH1 sasl_user=null \
	format=mailwarden-journal-1; do
	[ "$($JPY get "$J" QARCH1 "${kv%%=*}")" = "${kv#*=}" ] ||
		mw_fail "QARCH1: ${kv%%=*} is '$($JPY get "$J" QARCH1 "${kv%%=*}")', expected '${kv#*=}'"
done
$JPY get "$J" QARCH1 authentication_results | tr -d '\n' |
	grep -q "spf=pass smtp.mailfrom=alice@example.net" ||
	mw_fail "QARCH1: authentication_results: $($JPY get "$J" QARCH1 authentication_results)"
[ "$($JPY get "$J" QARCH2 authentication_results)" = null ] ||
	mw_fail "QARCH2 (outbound, not checked): authentication_results is not null"
[ "$($JPY get "$J" QARCH2 sasl_user)" = carol ] || mw_fail "QARCH2: sasl_user"
[ "$($JPY get "$J" QARCH2 direction)" = outbound ] || mw_fail "QARCH2: direction"
[ -z "$($JPY get "$J" QARCH3 archive_rcpt_to)" ] || mw_fail "QARCH3: archive recipient added twice"

# The .eml is the message as the milter received it (miltertest sends no
# leading space, so "Name: value"; folded lines end in CRLF).
printf 'From: Alice <alice@example.net>\r\nTo: Bob <bob@example.org>\r\nCc: carol@example.org\r\nSubject: quarterly\r\n\tfigures\r\nMessage-ID: <m1@example.net>\r\n\r\nHello Bob,\r\n\r\nthe figures.\r\n.\r\n' >"$W/expect.eml"
cmp "$W/expect.eml" "$($JPY check "$J" QARCH1)" || mw_fail "QARCH1: the .eml is not the message as received"

# --- Hostile bytes survive JSON escaping exactly ----------------------------
mt hostile || mw_fail "miltertest case hostile failed"
mw_log_wait "QHOSTILE: " || mw_fail "no log line for QHOSTILE"
hex() { $JPY hex "$J" QHOSTILE "$@"; }
[ "$(hex mail_from)" = "$(printf '"quo\\"te"\001\177j\303\266rg\377@example.net' | od -An -tx1 | tr -d ' \n')" ] ||
	mw_fail "QHOSTILE: mail_from bytes changed: $(hex mail_from)"
[ "$(hex rcpt_to 1)" = "$(printf 'tab\tnl\ncr\r@example.org' | od -An -tx1 | tr -d ' \n')" ] ||
	mw_fail "QHOSTILE: control bytes in rcpt_to changed"
[ "$(hex rcpt_to 2)" = "$(printf '\342\200\250ls\355\240\200@example.org' | od -An -tx1 | tr -d ' \n')" ] ||
	mw_fail "QHOSTILE: U+2028 / surrogate bytes in rcpt_to changed"
[ "$(hex helo)" = "$(printf 'helo"with\\quote\tand\001ctl' | od -An -tx1 | tr -d ' \n')" ] ||
	mw_fail "QHOSTILE: helo bytes changed"
[ "$(hex client_name)" = "$(printf 'evil"host\\name.example' | od -An -tx1 | tr -d ' \n')" ] ||
	mw_fail "QHOSTILE: client_name bytes changed"
rec="$J/$($JPY entry "$J" QHOSTILE).json"
LC_ALL=C grep -q '[[:cntrl:]]' "$rec" && mw_fail "QHOSTILE: raw control bytes in $rec"
/usr/bin/python3 -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode("utf-8"))' "$rec" ||
	mw_fail "QHOSTILE: $rec is not strict UTF-8 JSON"
$JPY check "$J" QHOSTILE >/dev/null || mw_fail "QHOSTILE: record and .eml disagree"

# --- A 64 MB message goes to disk, not into memory --------------------------
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$MW_PID/status"; }
before=$(hwm)
mt big || mw_fail "miltertest case big failed"
mw_log_wait "QBIG: " || mw_fail "no log line for QBIG"
after=$(hwm)
eml=$($JPY check "$J" QBIG) || mw_fail "QBIG: record and .eml disagree"
size=$(stat -c %s "$eml")
[ "$size" -gt $((1025 * 65472)) ] || mw_fail "QBIG: .eml holds $size bytes, less than the body"
echo "QBIG: .eml $size bytes; mailwarden peak RSS $before kB before, $after kB after"
[ $((after - before)) -lt 16384 ] || mw_fail "QBIG: peak RSS grew by $((after - before)) kB for a 64 MB message"
rm -f "$eml" "${eml%.eml}.json"		# verify below must then name it

# --- The journal cannot be written: 451, nothing accepted --------------------
rm -rf "$J/tmp" && touch "$J/tmp"	# every new entry fails with ENOTDIR
mt fail || mw_fail "miltertest case fail failed"
mw_log_wait "QFAIL: " || mw_fail "no log line for QFAIL"
log 'QFAIL: .*journal=failed: create tmp/.*Not a directory.*action=tempfail at end of message 451 4.3.0'

# --- best_effort = yes: the same failure is logged and the message accepted --
conf yes
kill -HUP "$MW_PID"
mw_log_wait "reloaded configuration" || mw_fail "no reload"
mt accept || mw_fail "miltertest case accept failed"
mw_log_wait "QBEST: " || mw_fail "no log line for QBEST"
log 'QBEST: .*journal=failed, accepted (best_effort): create tmp/.*Not a directory.*action=accept'
rm -f "$J/tmp"

# --- mailwarden-archive verify ----------------------------------------------
[ "$($JPY count "$J")" -eq 4 ] || mw_fail "expected 4 entries, found $($JPY count "$J")"
big=$(grep -o 'QBIG: .*journal=[^ ]*' "$W/mailwarden.log" | sed 's/.*journal=//')
out=$("$MW_BUILDDIR/mailwarden-archive" verify "$J") && mw_fail "verify passed with an entry removed: $out"
echo "$out" | grep -q "^$big: removed: $big.eml is missing" || mw_fail "verify did not name $big: $out"
echo "PASS: archive rules, journal entries, failure answers, bounded memory"
