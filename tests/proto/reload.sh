#!/bin/bash
# reload.sh - SIGHUP builds a new snapshot; a message in flight finishes
# on the one it started with; a broken config is logged and the old one
# keeps serving.
. "$MW_SRCDIR/tests/lib/common.sh"
mw_init
mw_need miltertest

port=$(mw_port)
sock="inet:$port@127.0.0.1"
conf() {
	cat >"$W/mw.conf" <<EOF2
socket = "$sock"
pid_file = ""
user = ""
inbound_checks = no
signing = no
max_headers = $1
EOF2
}
conf 10
mw_mailwarden_start "$W/mw.conf"

# A message starts on the max_headers = 10 snapshot; reload to 1000 while
# it is open; it must still be held to 10.
mw_miltertest "$MW_SRCDIR/tests/proto/reload.lua" MW_SOCKET="$sock" PHASE=hold \
	READY="$W/ready" RELOADED="$W/reloaded" &
lua_pid=$!
mw_track $lua_pid
for i in $(seq 1 200); do [ -f "$W/ready" ] && break; sleep 0.05; done
[ -f "$W/ready" ] || mw_fail "miltertest did not start its message"
conf 1000
kill -HUP "$MW_PID"
mw_log_wait "reloaded configuration" || mw_fail "no reload logged"
touch "$W/reloaded"
wait $lua_pid || mw_fail "the message in flight did not keep its snapshot"
mw_log_wait "Qhold: .*action=reject at header 552 5.3.4" || mw_fail "no reject logged"

# New messages see the new snapshot.
mw_miltertest "$MW_SRCDIR/tests/proto/reload.lua" MW_SOCKET="$sock" PHASE=after ||
	mw_fail "new snapshot not used after reload"

# A broken config: logged, every error, and the old one stays.
printf 'socket = "%s"\npid_file = ""\nuser = ""\nmax_headers = 50\nbogus_option = 1\n' "$sock" >"$W/mw.conf"
kill -HUP "$MW_PID"
mw_log_wait "reload failed: 1 error" || mw_fail "failed reload not logged"
grep -q "mw.conf:5: unknown option 'bogus_option'" "$W/mailwarden.log" || mw_fail "error not logged with file:line"
kill -0 "$MW_PID" || mw_fail "mailwarden died on a broken reload"
mw_miltertest "$MW_SRCDIR/tests/proto/reload.lua" MW_SOCKET="$sock" PHASE=after ||
	mw_fail "after a failed reload the previous config (max_headers = 1000) must serve"

# SIGTERM stops cleanly.
kill -TERM "$MW_PID"
for i in $(seq 1 200); do kill -0 "$MW_PID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$MW_PID" 2>/dev/null && mw_fail "mailwarden did not stop on SIGTERM"
wait "$MW_PID"; rc=$?
[ $rc -eq 0 ] || mw_fail "exit status $rc after SIGTERM"
mw_log_wait "stopping" || mw_fail "no stop logged"
echo "PASS: reload"
