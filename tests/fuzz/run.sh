#!/bin/bash
# run.sh - build and run mailwarden's libFuzzer targets (tests/fuzz/README).
#
#	tests/fuzz/run.sh [-t SECONDS] [-b] [TARGET...]
#	make fuzz [FUZZ_TIME=SECONDS] [FUZZ_TARGETS="addr tags"]
#
# -t  seconds each target runs (default 60); 0 runs each seed once
#     (a regression pass over the committed corpus)
# -b  build only
# TARGET: addr tags dns_wire config json jindex authres dmarc dkim spf (default: all)
#
# Needs clang with libFuzzer (Debian: clang) and a configured tree
# (autoconf.h in MW_BUILDDIR). The libmw sources are compiled with
# -fsanitize=fuzzer-no-link,address,undefined into MW_BUILDDIR/tests/fuzz/obj,
# the targets into MW_BUILDDIR/tests/fuzz/bin; nothing of the normal build
# is touched. Runs are niced. Each target's corpus grows in
# MW_BUILDDIR/tests/fuzz/work/TARGET (seeded from tests/fuzz/corpus/TARGET);
# a crash, leak or failed property is saved in MW_BUILDDIR/tests/fuzz/findings/
# and makes the script exit 1.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${MW_SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${MW_BUILDDIR:=$MW_SRCDIR}"
: "${FUZZ_CC:=clang}"
ALL="addr tags dns_wire config json jindex authres dmarc dkim spf"
secs=60
build_only=

while getopts "t:bh" o; do
	case $o in
	t) secs=$OPTARG ;;
	b) build_only=1 ;;
	*) sed -n '2,20p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
targets=${*:-$ALL}

command -v "$FUZZ_CC" >/dev/null || { echo "run.sh: $FUZZ_CC not found (apt-get install clang)" >&2; exit 2; }
[ -f "$MW_BUILDDIR/autoconf.h" ] || { echo "run.sh: no autoconf.h in $MW_BUILDDIR: configure first" >&2; exit 2; }

out=$MW_BUILDDIR/tests/fuzz
obj=$out/obj
mkdir -p "$obj" "$out/bin" "$out/work" "$out/findings"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -fno-omit-frame-pointer $san -I$MW_BUILDDIR -I$MW_SRCDIR/src"
cflags+=" $(pkg-config --cflags milter opendkim libconfuse hiredis libcrypto libpsl libidn2)"
libs="$(pkg-config --libs milter opendkim libconfuse hiredis libcrypto libpsl libidn2)"
libs+=" -lspf2 -lopendmarc -lresolv -lpthread"

# The library's sources, as Makefile.am lists them for libmw.a.
sources=$(sed -n '/^libmw_a_SOURCES/,/^$/p' "$MW_SRCDIR/Makefile.am" |
	tr ' \t\\' '\n\n\n' | grep '\.c$')

# compile - one source into obj/ when it is newer than its object or a header changed
compile() {
	local src=$MW_SRCDIR/$1 o
	o=$obj/$(basename "$1" .c).o
	if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ -n "$(find "$MW_SRCDIR/src" -name '*.h' -newer "$o")" ]; then
		nice -n 19 "$FUZZ_CC" $cflags -fsanitize=fuzzer-no-link -c -o "$o" "$src"
	fi
	echo "$o"
}

objs=()
for s in $sources; do
	objs+=("$(compile "$s")")
done
for t in $targets; do
	[ -f "$here/fuzz_$t.c" ] || { echo "run.sh: no target $t ($ALL)" >&2; exit 2; }
	nice -n 19 "$FUZZ_CC" $cflags -fsanitize=fuzzer -o "$out/bin/fuzz_$t" \
		"$here/fuzz_$t.c" "${objs[@]}" $libs
done
[ -n "$build_only" ] && exit 0

# The longest input worth trying per target.
maxlen() {
	case $1 in
	config) echo 16384 ;;
	dns_wire) echo 4096 ;;
	*) echo 8192 ;;
	esac
}

export TMPDIR=${TMPDIR:-/tmp}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
status=0
for t in $targets; do
	work=$out/work/$t findings=$out/findings/$t
	mkdir -p "$work" "$findings"
	seeds=$MW_SRCDIR/tests/fuzz/corpus/$t
	dict=()
	[ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
	echo "== fuzz_$t: ${secs}s" >&2
	if [ "$secs" = 0 ]; then
		args=(-runs=0)
	else
		args=(-max_total_time="$secs" -max_len="$(maxlen "$t")" -timeout=10 -print_final_stats=1)
	fi
	if ! nice -n 19 "$out/bin/fuzz_$t" "${args[@]}" "${dict[@]}" \
		-artifact_prefix="$findings/" "$work" "$seeds" 2>"$out/fuzz_$t.log"; then
		echo "FAIL: fuzz_$t found a problem: $findings/ and $out/fuzz_$t.log" >&2
		tail -n 40 "$out/fuzz_$t.log" >&2
		status=1
	else
		grep -E '^stat::(number_of_executed_units|new_units_added)|^Done|cov:' "$out/fuzz_$t.log" | tail -n 3 >&2
	fi
done
exit $status
