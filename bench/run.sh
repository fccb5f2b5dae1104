#!/bin/bash
# run.sh - mailwarden's benchmark against the anchors (make bench).
#
# usage: bench/run.sh [-n COUNT] [-w WARMUP] [-s SESSIONS] [-l SIZE] [-r REPS]
#                     [-S SCENARIO,...] [-M] [-R] [-c CONC] [-T] [-U] [-k] [-L]
#
#   Default (end to end): smtp-source -> a private Postfix -> smtp-sink, one
#   smtpd per scenario with that scenario's milters. Every scenario runs in
#   turn, REPS times interleaved (pf null mw-rsa ... od-dmarc, then again);
#   each run first sends one probe message whose result is checked (the
#   signature verifies, Authentication-Results says pass, the archive copy
#   and journal exist...), then WARMUP messages, then COUNT measured ones.
#   Reported per scenario: messages per second (median, min-max), the ratio
#   to the floor (Postfix + nullmilter) and to the ceiling (Postfix alone),
#   CPU ms per message of the milter(s), of Postfix as a whole and of Redis,
#   and the milter's peak RSS.
#   -M  milter-protocol mode: bench/miltergen straight to each milter, no
#       MTA; messages per second, p50/p99 latency, CPU ms per message.
#   -R  memory mode: mailwarden's RSS with CONC (default 500) sessions open
#       at once, and sampled over COUNT (default 100000) messages.
#   -T  milters on TCP sockets instead of unix sockets (shows the delayed-ACK
#       stall of libmilter's replies, see bench/README).
#   -U  the inbound message's DKIM-Signature on one line instead of folded
#       (a diagnostic: a verifier that mishandles folded headers passes).
#   -S  scenarios (default: all; -L lists them). -k keeps the work dir.
#
# Needs root (Postfix, namespaces, cgroups). Results: stdout and
# $MW_BUILDDIR/bench/results.txt. Never part of "make check".
set -u

: "${MW_BUILDDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${MW_SRCDIR:=$MW_BUILDDIR}"
BENCH_DIR="$MW_SRCDIR/bench"
PY=/usr/bin/python3

export LC_ALL=C
COUNT=1000 COUNT_SET= WARMUP=100 SESSIONS=10 SIZE=4096 REPS=3 MODE=postfix CONC= ONLY= KEEP= TCP= UNFOLD=
while getopts "n:w:s:l:r:S:c:MRTUkLh" o; do
	case $o in
	n) COUNT=$OPTARG COUNT_SET=1 ;;
	w) WARMUP=$OPTARG ;;
	s) SESSIONS=$OPTARG ;;
	l) SIZE=$OPTARG ;;
	r) REPS=$OPTARG ;;
	S) ONLY=$OPTARG ;;
	c) CONC=$OPTARG ;;
	M) MODE=milter ;;
	R) MODE=memory ;;
	T) TCP=1 ;;
	U) UNFOLD=unfold ;;
	k) KEEP=1 ;;
	L) MODE=list ;;
	*) sed -n '2,25s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done

# --- scenarios -------------------------------------------------------------
# DESC: what it measures; MILTERS: milter instances, in Postfix order;
# MSG: plain (outbound) or signed (inbound, DKIM-signed by example.net);
# CHECK: the probe check; NEED: mailwarden stages that must be built.
# BCC: the archive copy must reach its own sink; JOURNAL: the journal grows.
# EXTRA scenarios run only when named with -S: they split "all" into parts.
ALL=(pf null mw-rsa mw-ed mw-both mw-in mw-all-mem mw-all-redis od-rsa od-ed od-dmarc)
EXTRA=(mw-in-rl mw-in-bcc mw-in-journal)
declare -A DESC MILTERS MSG CHECK NEED BCC JOURNAL
DESC[pf]="Postfix alone (ceiling)"
DESC[null]="Postfix + nullmilter (floor)"
DESC[mw-rsa]="mailwarden signing RSA-2048"
DESC[mw-ed]="mailwarden signing Ed25519"
DESC[mw-both]="mailwarden signing RSA-2048 + Ed25519"
DESC[mw-in]="mailwarden inbound: SPF+DKIM+DMARC+A-R"
DESC[mw-all-mem]="mailwarden all: inbound+limits(memory)+BCC+journal"
DESC[mw-all-redis]="mailwarden all: inbound+limits(Redis)+BCC+journal"
DESC[od-rsa]="opendkim signing RSA-2048"
DESC[od-ed]="opendkim signing Ed25519"
DESC[od-dmarc]="opendkim verify + opendmarc (SPF+DMARC)"
DESC[mw-in-rl]="mailwarden inbound + limits(memory)"
DESC[mw-in-bcc]="mailwarden inbound + archive BCC (no journal)"
DESC[mw-in-journal]="mailwarden inbound + journal (no BCC)"
MILTERS=([pf]="" [null]=null [mw-rsa]=mw-rsa [mw-ed]=mw-ed [mw-both]=mw-both [mw-in]=mw-in
	[mw-all-mem]=mw-all-mem [mw-all-redis]=mw-all-redis [od-rsa]=od-rsa [od-ed]=od-ed
	[od-dmarc]="od-verify odmarc" [mw-in-rl]=mw-in-rl [mw-in-bcc]=mw-in-bcc
	[mw-in-journal]=mw-in-journal)
for s in "${ALL[@]}" "${EXTRA[@]}"; do MSG[$s]=plain NEED[$s]= BCC[$s]= JOURNAL[$s]= ; done
for s in mw-in mw-all-mem mw-all-redis od-dmarc "${EXTRA[@]}"; do MSG[$s]=signed; done
BCC[mw-all-mem]=1 BCC[mw-all-redis]=1 BCC[mw-in-bcc]=1
JOURNAL[mw-all-mem]=1 JOURNAL[mw-all-redis]=1 JOURNAL[mw-in-journal]=1
AUTHRES="authres mx.example.test spf=pass dkim=pass dmarc=pass"
CHECK=([pf]=plain [null]=plain [mw-rsa]="sign rsa-sha256" [mw-ed]="sign ed25519-sha256"
	[mw-both]="sign rsa-sha256 ed25519-sha256" [mw-in]="$AUTHRES"
	[mw-all-mem]="$AUTHRES" [mw-all-redis]="$AUTHRES"
	[od-rsa]="sign rsa-sha256" [od-ed]="sign ed25519-sha256" [od-dmarc]="$AUTHRES"
	[mw-in-rl]="$AUTHRES" [mw-in-bcc]="$AUTHRES" [mw-in-journal]="$AUTHRES")
NEED[mw-rsa]=SIGN NEED[mw-ed]=SIGN NEED[mw-both]=SIGN NEED[mw-in]=INBOUND
NEED[mw-all-mem]="INBOUND RATELIMIT ARCHIVE" NEED[mw-all-redis]="INBOUND RATELIMIT ARCHIVE"
NEED[mw-in-rl]="INBOUND RATELIMIT" NEED[mw-in-bcc]="INBOUND ARCHIVE" NEED[mw-in-journal]="INBOUND ARCHIVE"
# Words for "not built" lines.
declare -A STAGE_WORD=([SIGN]=signing [INBOUND]="inbound checks" [RATELIMIT]="rate limiting"
	[ARCHIVE]=archiving)

if [ "$MODE" = list ]; then
	for s in "${ALL[@]}"; do printf '%-13s %s\n' "$s" "${DESC[$s]}"; done
	for s in "${EXTRA[@]}"; do printf '%-13s %s (only with -S)\n' "$s" "${DESC[$s]}"; done
	exit 0
fi

# --- into the namespaces -------------------------------------------------
[ "$(id -u)" = 0 ] || { echo "bench: needs root (Postfix, namespaces, cgroups)" >&2; exit 1; }
if [ -z "${MW_BENCH_NS:-}" ]; then
	MW_BENCH_NS=1 exec unshare --net --mount --propagation private \
		env MW_BUILDDIR="$MW_BUILDDIR" MW_SRCDIR="$MW_SRCDIR" MW_BENCH_NS=1 \
		bash "$0" "$@" || { echo "bench: unshare failed" >&2; exit 1; }
fi

. "$MW_SRCDIR/tests/lib/common.sh"
. "$MW_SRCDIR/tests/lib/postfix.sh"
. "$BENCH_DIR/lib.sh"
. "$BENCH_DIR/scenarios.sh"
[ -n "$KEEP" ] && export MW_KEEP=1
mw_init
MW_CLEANUP_HOOKS+=(bench_stop_all bench_cg_cleanup)
for t in postfix smtp-source smtp-sink nsd dig openssl opendkim opendmarc redis-server unshare; do
	command -v "$t" >/dev/null || bench_die "$t is not installed (scripts/deps.sh)"
done
[ -x "$MW_BUILDDIR/bench/nullmilter" ] && [ -x "$MW_BUILDDIR/bench/miltergen" ] &&
	[ -x "$MW_BUILDDIR/mailwarden" ] || bench_die "build first: make bench (or make bench/nullmilter bench/miltergen)"

bench_main
