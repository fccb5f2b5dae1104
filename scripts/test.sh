#!/bin/bash
# test.sh - install every dependency from Debian, build, and run the whole
# test suite (unit, protocol and end-to-end tests with a real Postfix, nsd
# and redis-server). Run as root from the source tree. Exit 0 when all pass.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> installing dependencies from Debian"
scripts/deps.sh >/var/tmp/mailwarden-deps.log 2>&1 ||
	{ tail -30 /var/tmp/mailwarden-deps.log; exit 1; }

echo "==> building"
autoreconf -fi >/dev/null 2>&1
./configure -q --sysconfdir=/etc
make -s -j"$(nproc)"

echo "==> testing"
export CI="${CI:-true}"	# a missing tool is a failure here, never a skip
if ! make -j"$(nproc)" check; then
	for f in $(find tests -name '*.log' ! -name test-suite.log); do
		grep -qE '^(FAIL|ERROR)' "${f%.log}.trs" 2>/dev/null || continue
		echo "=== $f"; tail -n 60 "$f"
	done
	exit 1
fi
