#!/bin/bash
# deps.sh - install every Debian package mailwarden needs to build, run
# and test. Idempotent; run as root. One package per line, sorted.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
	autoconf
	automake
	bind9-dnsutils
	gcc
	iproute2
	libcmocka-dev
	libconfuse-dev
	libhiredis-dev
	libmilter-dev
	libopendkim-dev
	libopendmarc-dev
	libspf2-dev
	libssl-dev
	libtool
	make
	miltertest
	nsd
	opendkim
	opendkim-tools
	opendmarc
	pkg-config
	postfix
	publicsuffix
	python3
	python3-authres
	python3-dkim
	python3-dnspython
	python3-nacl
	python3-spf
	redis-server
	swaks
)
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
