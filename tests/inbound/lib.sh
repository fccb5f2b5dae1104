# lib.sh - what every inbound test starts with (source after common.sh,
# and postfix.sh when the test needs Postfix).

# inbound_init [TOOL...] - work dir, the tools and Python modules the
# cases need, the cases' zones and keys (cases.py setup), nsd serving them
inbound_init() {
	mw_init
	mw_need nsd nsd-checkzone dig openssl /usr/bin/python3 "$@"
	/usr/bin/python3 -c 'import dkim, nacl, authres' 2>/dev/null ||
		mw_skip "python3-dkim, python3-nacl and python3-authres are needed"
	/usr/bin/python3 "$MW_SRCDIR/tests/inbound/cases.py" setup "$W" >"$W/setup.log" 2>&1 ||
		mw_fail "cases.py setup: $(cat "$W/setup.log")"
	mw_nsd_start "$W/zones"
}
