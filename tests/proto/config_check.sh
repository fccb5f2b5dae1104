#!/bin/bash
# config_check.sh - "mailwarden -n": 0 on a good file; on a bad one every
# error with file:line, and exit 78. Start-up refuses a bad file too.
. "$MW_SRCDIR/tests/lib/common.sh"
mw_init

"$MW_BIN" -n -c "$MW_SRCDIR/conf/mailwarden.conf" >"$W/ok.out" 2>&1 ||
	mw_fail "the shipped config does not pass -n: $(cat "$W/ok.out")"

cat >"$W/bad.conf" <<'EOF2'
# three errors, each on its own line
socket = "inet:8891@127.0.0.1"
no_such_option = 1
internal_hosts = {10.0.0.0/8, 192.0.2.0/33}
dns_timeout = 999
EOF2
rc=0
"$MW_BIN" -n -c "$W/bad.conf" >"$W/bad.out" 2>&1 || rc=$?
[ "$rc" -eq 78 ] || mw_fail "-n exit status $rc, expected 78"
grep -q "^$W/bad.conf:3: unknown option 'no_such_option'" "$W/bad.out" || mw_fail "unknown option not reported: $(cat "$W/bad.out")"
grep -q "^$W/bad.conf:4: .*192.0.2.0/33.*prefix" "$W/bad.out" || mw_fail "bad CIDR not reported: $(cat "$W/bad.out")"
grep -q "^$W/bad.conf:5: option 'dns_timeout': 999 is out of range 1..60" "$W/bad.out" || mw_fail "range not reported: $(cat "$W/bad.out")"
grep -q "3 errors in $W/bad.conf" "$W/bad.out" || mw_fail "error count wrong: $(cat "$W/bad.out")"

# The daemon itself refuses to start on it, with the same messages.
rc=0
"$MW_BIN" -f -c "$W/bad.conf" >"$W/start.out" 2>&1 || rc=$?
[ "$rc" -eq 78 ] || mw_fail "start with a bad config: exit $rc, expected 78"
grep -q "unknown option 'no_such_option'" "$W/start.out" || mw_fail "start did not say why"

# Hostile files: missing, a directory, binary junk, an unterminated string.
for f in /nonexistent.conf "$W"; do
	rc=0; "$MW_BIN" -n -c "$f" >"$W/x.out" 2>&1 || rc=$?
	[ "$rc" -eq 78 ] && grep -q "^$f" "$W/x.out" || mw_fail "$f: exit $rc: $(cat "$W/x.out")"
done
head -c 3000 /dev/urandom >"$W/junk.conf"
printf 'socket = "inet:1@127.0.0.1\n' >"$W/unterminated.conf"
for f in "$W/junk.conf" "$W/unterminated.conf"; do
	rc=0; "$MW_BIN" -n -c "$f" >"$W/x.out" 2>&1 || rc=$?
	[ "$rc" -eq 78 ] && grep -q "^$f" "$W/x.out" || mw_fail "$f: exit $rc: $(cat "$W/x.out")"
done

# The man page's option list is the option table's.
"$MW_BIN" -O >"$W/ref.txt"
for opt in socket internal_hosts on_error dns_servers; do
	grep -q "^\.B $opt " "$W/ref.txt" || mw_fail "-O lacks $opt"
done
echo "PASS: config check"
