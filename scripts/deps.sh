#!/bin/bash
# deps.sh - install the Debian packages mailwarden needs.
#	scripts/deps.sh          build, run and test (everything)
#	scripts/deps.sh --build  build and run only (no MTA, DNS or test tools)
# Idempotent; run as root. One package per line, sorted, in one list only.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
build=(
	autoconf
	automake
	gcc
	libconfuse-dev
	libhiredis-dev
	libidn2-dev
	libmilter-dev
	libopendkim-dev
	libopendmarc-dev
	libpsl-dev
	libspf2-dev
	libssl-dev
	make
	pkg-config
	publicsuffix
)
# Tests, benchmarks and the anchors they compare with.
testing=(
	bind9-dnsutils
	iproute2
	libcmocka-dev
	libtool
	miltertest
	nsd
	opendkim
	opendkim-tools
	opendmarc
	openssl
	postfix
	python3
	python3-authres
	python3-dkim
	python3-dnspython
	python3-nacl
	python3-spf
	redis-server
	redis-tools
	swaks
)
packages=("${build[@]}" "${testing[@]}")
if [ "${1:-}" = "--build" ]; then
	packages=("${build[@]}")
fi
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
