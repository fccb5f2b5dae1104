#!/bin/bash
# direction.sh - miltertest drives mailwarden as Postfix would; each
# message's log line carries the queue ID, the right direction and reason,
# the sender and the recipient count.
. "$MW_SRCDIR/tests/lib/common.sh"
mw_init
mw_need miltertest

port=$(mw_port)
cat >"$W/mw.conf" <<EOF2
socket = "inet:$port@127.0.0.1"
pid_file = ""
user = ""
internal_hosts = {192.0.2.0/24, 2001:db8:1::/48}
internal_daemons = {submission}
# not about the features: the log line as asserted, no DNS
inbound_checks = no
signing = no
EOF2
mw_mailwarden_start "$W/mw.conf"
mw_miltertest "$MW_SRCDIR/tests/proto/direction.lua" MW_SOCKET="inet:$port@127.0.0.1" ||
	mw_fail "miltertest script failed"
mw_log_wait "QSUBMIT1:" || mw_fail "no log line for the last message"

expect() {
	grep -q -- "$1" "$W/mailwarden.log" || mw_fail "no log line matching: $1"
}
# The stages' own notes (signing says why it did not sign) sit between
# the recipient count and the action.
expect 'QEXTERNAL1: client=mail.example.net\[198.51.100.7\], dir=inbound (external), from=<alice@example.net>, nrcpt=1, .*action=accept$'
expect 'QSASL1: client=mail.example.net\[198.51.100.7\], dir=outbound (sasl), from=<carol@example.com>, nrcpt=1, sasl=carol, .*action=accept$'
expect 'QINTERNAL1: client=app.example.com\[2001:db8:1::25\], dir=outbound (internal_hosts), from=<app@example.com>, nrcpt=2, .*action=accept$'
expect 'QSUBMIT1: client=laptop.example.net\[203.0.113.5\], dir=outbound (internal_daemons), from=<dave@example.com>, nrcpt=1, .*action=accept$'
[ "$(grep -c ': client=' "$W/mailwarden.log")" -eq 4 ] || mw_fail "expected exactly 4 message log lines"
echo "PASS: direction and log lines"
