#!/bin/bash
# rl_bench.sh - decisions per second of the rate-limit stores: the
# in-memory store on 1 and 2 threads, with 1 and 3 rules per decision, and
# a private redis-server on a loopback port (one round trip per decision).
# Run from the build directory after "make bench/rl_bench". Not part of
# make check: it measures, it asserts nothing.
. "${MW_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
mw_init
B="$MW_BUILDDIR/bench/rl_bench"
[ -x "$B" ] || { echo "build it first: make bench/rl_bench" >&2; exit 1; }
echo "# $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
"$B" -n 5000000 -t 1 -r 1 -k 100000
"$B" -n 2000000 -t 1 -r 3 -k 100000
"$B" -n 5000000 -t 2 -r 1 -k 100000
"$B" -n 5000000 -t 1 -r 1 -k 1000000
if command -v redis-server >/dev/null; then
	port=$(mw_port)
	mkdir -p "$W/redis"
	redis-server --port "$port" --bind 127.0.0.1 --dir "$W/redis" --save "" \
		--appendonly no --daemonize no >"$W/redis.log" 2>&1 &
	mw_track $!
	mw_wait_port "$port" 10 || mw_fail "redis-server did not start"
	"$B" -R "127.0.0.1:$port" -n 50000 -t 1 -r 1
	"$B" -R "127.0.0.1:$port" -n 50000 -t 1 -r 3
	"$B" -R "127.0.0.1:$port" -n 50000 -t 4 -r 1
fi
