#!/bin/bash
# proto.sh - SPF, DKIM and DMARC on inbound mail at the milter protocol
# level: miltertest plays the MTA, nsd serves the zones, python3-dkim signs.
# Every case (tests/inbound/cases.py) is compared whole with what it must
# give: the milter's answer, the exact SMTP reply, the exact
# Authentication-Results (and Received-SPF, tag) header inserted on top,
# the quarantine reason, the headers deleted. Then python3-authres parses
# every Authentication-Results header produced. Three configurations, one
# daemon: the others are loaded with SIGHUP.
. "$MW_SRCDIR/tests/lib/common.sh"
. "$MW_SRCDIR/tests/inbound/lib.sh"
inbound_init miltertest nsd-control

port=$(mw_port)
sock="inet:$port@127.0.0.1"
conf() {
	cat >"$W/mw.conf" <<EOF
socket = "$sock"
pid_file = ""
user = ""
authserv_id = "mx.example.test"
dns_servers = {127.0.0.1:$MW_DNS_PORT}
public_suffix_list = "$W/psl.dat"
dmarc_never_reject = {never.test}
dmarc_always_tag = {tagme.test}
$*
EOF
}

# reload - write a config, SIGHUP, wait until it is in use
reload() {
	local n
	n=$(grep -c "reloaded configuration" "$W/mailwarden.log")
	conf "$@"
	kill -HUP "$MW_PID"
	for i in $(seq 1 100); do
		[ "$(grep -c "reloaded configuration" "$W/mailwarden.log")" -gt "$n" ] && return 0
		sleep 0.05
	done
	mw_fail "configuration not reloaded: $*"
}

failed=()
# phase NAME - every case of the phase; differences are collected
phase() {
	local name
	mkdir -p "$W/out"
	for name in $(cat "$W/cases/$1.list"); do
		mw_miltertest "$MW_SRCDIR/tests/inbound/drive.lua" MW_SOCKET="$sock" \
			CASE="$W/cases/$name.case" >"$W/out/$name" 2>&1
		if ! diff -u "$W/cases/$name.want" "$W/out/$name" >"$W/out/$name.diff"; then
			failed+=("$name")
			echo "--- case $name differs:" >&2
			cat "$W/out/$name.diff" >&2
		fi
	done
}

conf
mw_mailwarden_start "$W/mw.conf"
phase default
reload 'dmarc_quarantine = "tag"' 'temperror_action = "accept"' 'received_spf = yes' \
	'spf_fail_reject = yes' 'max_signatures = 2'
phase tag
reload 'dmarc_monitor_only = yes'
phase monitor

kill -0 "$MW_PID" 2>/dev/null || mw_fail "mailwarden died"
[ ${#failed[@]} -eq 0 ] || mw_fail "${#failed[@]} case(s) differ: ${failed[*]}"

cat "$W"/out/* >"$W/all.out"
/usr/bin/python3 "$MW_SRCDIR/tests/inbound/cases.py" authres "$W/all.out" >"$W/authres.log" 2>&1 ||
	mw_fail "python3-authres refused a header: $(tail -5 "$W/authres.log")"
n=$(grep -c '^hdr Authentication-Results=' "$W/all.out")
grep -q "^parsed $n headers\$" "$W/authres.log" || mw_fail "authres parsed fewer than $n headers"

# Every message has its log line with the checks' notes, and the daemon
# logged no internal error.
grep -q 'QDMARCREJECT: .*dmarc=fail from=reject.test policy=reject.*action=reject at end of message 550 5.7.1' \
	"$W/mailwarden.log" || mw_fail "no log line for the DMARC reject"
grep -q 'inbound-error' "$W/mailwarden.log" && mw_fail "an internal error was logged"
echo "PASS: $(cat "$W"/cases/*.list | wc -l) inbound cases, $n Authentication-Results headers parsed by python3-authres"
