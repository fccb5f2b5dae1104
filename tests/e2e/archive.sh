#!/bin/bash
# archive.sh - compliance archiving through a real Postfix:
#  1. a message to To, Cc and Bcc recipients, matched by two rules that
#     name the same archive address: smtp-sink sees the archive address
#     once as an added envelope recipient, the relayed message shows
#     neither the archive nor the Bcc recipient and is the message as
#     sent, and the journal entry lists all three envelope recipients
#     and holds the message exactly as Postfix passed it;
#  2. a SASL-authenticated (XCLIENT LOGIN) message: outbound, sasl_user;
#  3. the journal on a full tmpfs: a message submitted with sendmail gets
#     451 4.3.0 from the milter, Postfix keeps it in its maildrop queue,
#     and once space is freed it is archived and delivered, once;
#  4. mailwarden-archive verify passes on the journal, and fails naming
#     the entry when one byte of an entry is changed, an entry removed,
#     or two index lines swapped.
. "$MW_SRCDIR/tests/lib/common.sh"
. "$MW_SRCDIR/tests/lib/postfix.sh"
mw_init
mw_postfix_need
mw_need /usr/bin/python3 mount umount nsd

J=$W/journal
JPY="/usr/bin/python3 $MW_SRCDIR/tests/lib/journal.py"
VERIFY="$MW_BUILDDIR/mailwarden-archive verify"
mkdir -p "$J"
mount -t tmpfs -o size=2m,mode=0750 mwjournal "$J" || mw_skip "cannot mount a tmpfs on $J"
journal_umount() { umount "$J" 2>/dev/null || umount -l "$J"; }
MW_CLEANUP_HOOKS+=(journal_umount)

# The inbound checks' lookups go to a local nsd: example.test passes SPF
# for 192.0.2.10; its parent zone test. answers NXDOMAIN for the rest.
mkdir -p "$W/zones"
cat >"$W/zones/example.test.zone" <<'EOF'
$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@ IN NS ns.test.
@ IN TXT "v=spf1 ip4:192.0.2.10 -all"
EOF
mw_nsd_start "$W/zones"

MW_MILTER_PORT=$(mw_port)
cat >"$W/mw.conf" <<EOF
socket = "inet:$MW_MILTER_PORT@127.0.0.1"
pid_file = ""
user = ""
dns_servers = {127.0.0.1:$MW_DNS_PORT}
journal_dir = "$J"
archive "all" {
    bcc = {archive@example.test}
    journal = yes
}
archive "org" {
    direction = inbound
    recipient_domains = {example.org}
    bcc = {Archive@EXAMPLE.test}
}
EOF
mw_mailwarden_start "$W/mw.conf"
mw_postfix_start

# sink_message FILE - the message part of a sink file (no envelope lines,
# no smtp-sink Received header, not the empty line smtp-sink appends), LF
sink_message() {
	tr -d '\r' <"$1" | sed '$d' |
		awk 'skip == 0 && /^X-/ { next }
		     skip == 0 && /^Received: / { skip = 1; next }
		     skip == 1 && /^[ \t]/ { next }
		     { skip = 2; print }'
}

# --- 1. To, Cc and Bcc; two rules, one archive copy -------------------------
cat >"$W/m1.txt" <<'EOF'
From: Alice <alice@example.test>
To: Bob <bob@example.org>
Cc: carol@example.org
Subject: quarterly figures
Message-ID: <e2e-1@example.test>
Date: Mon, 05 Jan 2026 10:11:12 +0000

Bob, Carol: the figures.
EOF
mw_send_expect 250 --xclient-addr 192.0.2.10 --from alice@example.test \
	--to bob@example.org,carol@example.org,dave@example.com --data "$W/m1.txt"
q1=$MW_SENT_QID
f1=$(mw_wait_delivered 1) || mw_fail "message 1 not delivered"
grep -q '^X-Rcpt-Args: <bob@example.org>' "$f1" || mw_fail "bob is not a recipient at the sink"
grep -q '^X-Rcpt-Args: <carol@example.org>' "$f1" || mw_fail "carol is not a recipient at the sink"
grep -q '^X-Rcpt-Args: <dave@example.com>' "$f1" || mw_fail "dave (Bcc) is not a recipient at the sink"
[ "$(grep -ic '^X-Rcpt-Args: <archive@example.test>' "$f1")" -eq 1 ] ||
	mw_fail "expected exactly one archive recipient at the sink: $(grep '^X-Rcpt' "$f1")"
[ "$(grep -c '^X-Rcpt-Args:' "$f1")" -eq 4 ] || mw_fail "expected 4 recipients at the sink"
sink_message "$f1" >"$W/m1.sink"
grep -qi 'archive' "$W/m1.sink" && mw_fail "the relayed message mentions the archive"
grep -qi 'dave@' "$W/m1.sink" && mw_fail "the relayed message shows the Bcc recipient"
# Nothing else added or changed: the relayed message is Postfix's Received
# header, the inbound checks' Authentication-Results header, and the
# original (to which swaks appends an empty line).
grep -q '^Authentication-Results: ' "$W/m1.sink" || mw_fail "no Authentication-Results header"
awk 'body { print; next } /^$/ { body = 1; print; next }
     /^(Received|Authentication-Results): / { drop = 1; next }
     drop && /^[ \t]/ { next } { drop = 0; print }' "$W/m1.sink" |
	diff - <(cat "$W/m1.txt"; echo) >&2 ||
	mw_fail "the relayed message differs from the one sent (beyond Postfix's Received header)"

mw_log_wait "$q1: .*journal=" || mw_fail "no journal note for $q1"
eml=$($JPY check "$J" "$q1") || mw_fail "journal entry of $q1: record and .eml disagree"
[ "$($JPY get "$J" "$q1" rcpt_to)" = "bob@example.org
carol@example.org
dave@example.com" ] || mw_fail "journal rcpt_to is not To, Cc and Bcc: $($JPY get "$J" "$q1" rcpt_to)"
[ "$($JPY get "$J" "$q1" archive_rcpt_to)" = "archive@example.test" ] ||
	mw_fail "journal archive_rcpt_to: $($JPY get "$J" "$q1" archive_rcpt_to)"
[ "$($JPY get "$J" "$q1" rules)" = "all
org" ] || mw_fail "journal rules: $($JPY get "$J" "$q1" rules)"
for kv in mail_from=alice@example.test client_address=192.0.2.10 client_name=client.example.test \
	helo=client.example.test direction=inbound queue_id="$q1" sasl_user=null; do
	[ "$($JPY get "$J" "$q1" "${kv%%=*}")" = "${kv#*=}" ] ||
		mw_fail "journal ${kv%%=*} is '$($JPY get "$J" "$q1" "${kv%%=*}")', expected '${kv#*=}'"
done
$JPY get "$J" "$q1" authentication_results | tr -d '\n' |
	grep -q "spf=pass smtp.mailfrom=alice@example.test" ||
	mw_fail "journal authentication_results: $($JPY get "$J" "$q1" authentication_results)"
# The .eml is the message as Postfix passed it to the milter: as the
# client sent it (Postfix does not pass on the Received header it adds).
tr -d '\r' <"$eml" | diff - <(cat "$W/m1.txt"; echo) >&2 || mw_fail "the journal's .eml is not the message as sent"
grep -q $'\r$' "$eml" || mw_fail "the .eml has no CRLF line ends"

# --- 2. SASL user: outbound, the second rule (inbound only) does not match --
mw_send_expect 250 --xclient-addr 192.0.2.10 --xclient-login carol \
	--from carol@example.test --to erin@example.org
q2=$MW_SENT_QID
mw_wait_delivered 2 >/dev/null || mw_fail "message 2 not delivered"
mw_log_wait "$q2: .*journal=" || mw_fail "no journal note for $q2"
[ "$($JPY get "$J" "$q2" sasl_user)" = carol ] || mw_fail "journal sasl_user of $q2"
[ "$($JPY get "$J" "$q2" direction)" = outbound ] || mw_fail "journal direction of $q2"
[ "$($JPY get "$J" "$q2" rules)" = all ] || mw_fail "journal rules of $q2"

# --- 3. Journal file system full: 451, kept in the queue, delivered later ---
dd if=/dev/zero of="$J/filler" bs=64k 2>/dev/null
[ "$(df --output=avail -k "$J" | tail -n 1 | tr -d ' ')" -eq 0 ] || mw_fail "the journal tmpfs is not full"
sent=$(mw_sink_count)
printf 'From: Frank <frank@example.test>\nTo: gina@example.org\nSubject: kept\nMessage-ID: <e2e-3@example.test>\n\nRetry me.\n' |
	mw_sendmail -f frank@example.test gina@example.org || mw_fail "sendmail refused the message"
mw_log_wait 'from=<frank@example.test>.*journal=failed: .*No space left on device.*action=tempfail at end of message 451 4.3.0' 20 ||
	mw_fail "no 451 for the message while the journal is full"
mw_postfix_log_wait 'milter-reject: END-OF-MESSAGE .*4\.3\.0 Message could not be archived' ||
	mw_fail "Postfix did not see the 4.3.0 refusal"
[ "$(mw_postfix_queue_count)" -ge 1 ] || mw_fail "Postfix did not keep the refused message"
[ "$(mw_sink_count)" -eq "$sent" ] || mw_fail "a message was delivered while the journal was full"
[ -z "$(ls "$J/tmp")" ] || mw_fail "a failed entry left files in tmp/: $(ls "$J/tmp")"
rm -f "$J/filler"
mw_wait_delivered $((sent + 1)) 30 >/dev/null || mw_fail "the kept message was not delivered once space was freed"
f3=$(grep -l '^Message-ID: <e2e-3@example.test>' "$W"/sink/* ) || mw_fail "message 3 not at the sink"
[ "$(echo "$f3" | wc -l)" -eq 1 ] || mw_fail "message 3 delivered more than once"
# (mw_sink_qid reads only smtpd's Received form; take the ID from our log)
q3=$(sed -n 's/^mailwarden: \([0-9A-Za-z]*\): .*from=<frank@example.test>.*journal=[0-9].*/\1/p' "$W/mailwarden.log")
[ "$(echo "$q3" | wc -w)" -eq 1 ] || mw_fail "expected one journal note for message 3: $q3"
grep -q "id $q3;" "$f3" || mw_fail "the delivered message 3 is not the journaled one ($q3)"
$JPY check "$J" "$q3" >/dev/null || mw_fail "journal entry of $q3: record and .eml disagree"
[ "$($JPY count "$J")" -eq 3 ] || mw_fail "expected 3 journal entries, found $($JPY count "$J")"
grep -qi '^X-Rcpt-Args: <archive@example.test>' "$f3" || mw_fail "message 3 has no archive copy"

# --- 4. mailwarden-archive verify --------------------------------------------
out=$($VERIFY "$J") || mw_fail "verify fails on the intact journal: $out"
echo "$out" | grep -q ': 3 entries, last sequence 3, 0 problems, head [0-9a-f]\{64\}$' ||
	mw_fail "verify summary: $out"
cp -a "$J" "$W/j.orig"
e1=$($JPY entry "$J" "$q1")
e2=$($JPY entry "$J" "$q2")
e3=$($JPY entry "$J" "$q3")
restore() { rm -rf "$W/jt" && cp -a "$W/j.orig" "$W/jt"; }
expect_fail() {	# WHAT ENTRY PATTERN
	local out rc
	out=$($VERIFY -q "$W/jt")
	rc=$?
	[ $rc -eq 1 ] || mw_fail "verify exits $rc after $1: $out"
	echo "$out" | grep -q "^$2: $3" || mw_fail "verify does not name $2 ($3) after $1: $out"
}
restore
printf 'X' | dd of="$W/jt/$e2.eml" bs=1 seek=40 conv=notrunc status=none
expect_fail "one byte changed" "$e2" "changed: $e2.eml does not match"
restore
rm "$W/jt/$e1.eml" "$W/jt/$e1.json"
expect_fail "an entry removed" "$e1" "removed: $e1.eml is missing"
restore
{ sed -n 1p "$W/jt/index"; sed -n 3p "$W/jt/index"; sed -n 2p "$W/jt/index"; } >"$W/jt/index.new"
mv "$W/jt/index.new" "$W/jt/index"
expect_fail "two entries swapped" "$e3" "hash chain broken at index line 2"
expect_fail "two entries swapped" "$e2" "reordered: index line 3 has sequence 2, after sequence 3"
restore
$VERIFY -q "$W/jt" >/dev/null || mw_fail "verify fails on the restored copy"
echo "PASS: archive copies, journal entries, full-disk 451 and retry, verify"
