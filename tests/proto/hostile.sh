#!/bin/bash
# hostile.sh - header count and size bounds, over-long addresses, odd
# senders, binary bodies, aborts, missing macros: each gets a defined
# reply or log line, and the daemon stays up.
. "$MW_SRCDIR/tests/lib/common.sh"
mw_init
mw_need miltertest

port=$(mw_port)
cat >"$W/mw.conf" <<EOF2
socket = "inet:$port@127.0.0.1"
pid_file = ""
user = ""
max_headers = 20
max_header_bytes = 2048
internal_daemons = {submission}
# not about the features: the log line as asserted, no DNS
inbound_checks = no
signing = no
EOF2
mw_mailwarden_start "$W/mw.conf"
for case in count bytes longrcpt longfrom odd abort; do
	mw_miltertest "$MW_SRCDIR/tests/proto/hostile.lua" MW_SOCKET="inet:$port@127.0.0.1" CASE=$case ||
		mw_fail "miltertest case $case failed"
done
mw_log_wait "QAFTER: " || mw_fail "no line for the last transaction"
log() { grep -q -- "$1" "$W/mailwarden.log" || mw_fail "no log line matching: $1"; }
log 'QCOUNT: .*headers=too-many-or-too-large, action=reject at header 552 5.3.4'
log 'QBYTES: .*action=reject at header 552 5.3.4'
log 'QLONGRCPT: .*nrcpt=1, rcpt=<rrrr*\.\.\.> reject at RCPT 501 5.1.3, action=abort'
log 'QLONGFROM: .*dir=inbound (external), from=<ffff*\.\.\.>, nrcpt=0, action=reject at MAIL 501 5.1.7'
log 'NOQUEUE: client=odd.example.net\[198.51.100.9\], dir=inbound (external), from=<>, nrcpt=1, .*action=accept$'
log 'QABORT1: .*action=abort'
log 'QAFTER: .*from=<y??Injected: yes@example.net>'
log 'warning: the MTA sends no {daemon_name} macro.*milter_connect_macros'
log 'warning: the MTA sends no {auth_authen} or {mail_addr} macro.*milter_mail_macros'
log 'warning: the MTA sends no queue ID (macro i).*milter_end_of_data_macros'
[ "$(grep -c 'warning: the MTA sends no {daemon_name}' "$W/mailwarden.log")" -eq 1 ] ||
	mw_fail "the macro warning must be logged once"
kill -0 "$MW_PID" || mw_fail "mailwarden died"
echo "PASS: hostile protocol input"
