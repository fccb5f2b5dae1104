#!/bin/bash
# sanitize.sh - the whole test suite against mailwarden built with
# AddressSanitizer + UndefinedBehaviorSanitizer (tests/fuzz/README).
#
#	tests/fuzz/sanitize.sh [-d DIR] [-k] [TEST...]
#
# -d  scratch directory (default /var/tmp/mw-sanitize): DIR/src is a copy
#     of the source tree (automake refuses to build out of tree from a
#     tree that is configured in place), DIR/build the sanitized build,
#     DIR/reports the sanitizer reports, DIR/tmp the tests' work dirs
# -k  keep going: build only what changed since the last run
# TEST: run only these (as make check TESTS=...); default: everything
#
# Every process reports to DIR/reports (ASan, LSan); UBSan writes to
# stderr, so the tests' logs and work dirs (kept: MW_KEEP=1) are searched
# for "runtime error". The LD_PRELOAD resolver shim is built without
# sanitizers: it goes into third-party tools. Exit 0 only when the suite
# passes and no sanitizer said anything. Heavy: runs niced.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
dir=/var/tmp/mw-sanitize
keep=
while getopts "d:kh" o; do
	case $o in
	d) dir=$OPTARG ;;
	k) keep=1 ;;
	*) sed -n '2,18p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

mkdir -p "$dir/src" "$dir/build" "$dir/reports" "$dir/tmp"
# The source: what git tracks plus new files not ignored.
(cd "$srcdir" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) |
	tar -C "$dir/src" -xpf - || exit 2
cd "$dir/build" || exit 2
if [ -z "$keep" ] || [ ! -f Makefile ]; then
	(cd "$dir/src" && nice -n 19 autoreconf -fi >/dev/null 2>&1) || { echo "autoreconf failed" >&2; exit 2; }
	nice -n 19 "$dir/src/configure" --sysconfdir=/etc \
		CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
		LDFLAGS='-fsanitize=address,undefined' >configure.out 2>&1 ||
		{ echo "configure failed: $dir/build/configure.out" >&2; exit 2; }
fi
nice -n 19 make -j2 all >make.out 2>&1 || { echo "build failed: $dir/build/make.out" >&2; exit 2; }
rm -f tests/lib/resolv_shim.so tests/lib/resolv_shim_so-resolv_shim.o
nice -n 19 make tests/lib/resolv_shim.so CFLAGS='-O2 -g' LDFLAGS= >>make.out 2>&1 ||
	{ echo "shim build failed" >&2; exit 2; }

rm -rf "$dir/reports"/* "$dir/tmp"/*
tests=()
[ $# -gt 0 ] && tests=(TESTS="$*")
export TMPDIR=$dir/tmp MW_KEEP=1
# A small quarantine: tests that bound the daemon's memory (archive.sh: a
# 64 MB message in under 16 MB) would otherwise measure freed chunks ASan
# holds back to catch use after free.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0:malloc_context_size=30:quarantine_size_mb=4:log_path=$dir/reports/asan"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1"
nice -n 19 make -k check "${tests[@]}" >check.out 2>&1
suite=$?
grep -E '^# (TOTAL|PASS|FAIL|ERROR|SKIP)' check.out
grep -E '^(FAIL|ERROR)' check.out

found=0
for f in "$dir/reports"/asan.*; do
	[ -f "$f" ] || continue
	found=1
	echo "--- $f"
	grep -E 'ERROR:|SUMMARY:|^    #[0-9]+ .* in [a-z_]+ .*/(src|tests)/' "$f" | head -n 12
done
if grep -rl --include='*.log' 'runtime error:' . "$dir/tmp" 2>/dev/null | grep -q .; then
	found=1
	echo "--- UBSan:"
	grep -rh --include='*.log' 'runtime error:' . "$dir/tmp" | sort | uniq -c
fi
[ $suite -eq 0 ] && [ $found -eq 0 ] && rm -rf "$dir/tmp"/* && echo "sanitize: clean"
[ $suite -eq 0 ] && [ $found -eq 0 ]
