#!/bin/bash
# quickstart.sh - build, install and start mailwarden with the shipped
# configuration on a Debian 12 machine (as root), then print the Postfix
# lines that hook it in. Needs no DNS server, Redis or key of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

echo "==> installing build dependencies from Debian"
"$top/scripts/deps.sh" --build >/var/tmp/mailwarden-deps.log 2>&1 ||
	{ tail -20 /var/tmp/mailwarden-deps.log; exit 1; }

echo "==> building"
[ -x configure ] || autoreconf -fi >/dev/null
./configure -q --prefix=/usr/local --sysconfdir=/etc --localstatedir=/var
make -s -j"$(nproc)"
make -s install

echo "==> user, directories, configuration"
getent group mailwarden >/dev/null || groupadd --system mailwarden
getent passwd mailwarden >/dev/null ||
	useradd --system --gid mailwarden --home-dir /nonexistent --shell /usr/sbin/nologin mailwarden
install -d -o mailwarden -g mailwarden -m 0750 /run/mailwarden /var/spool/mailwarden
[ -f /etc/mailwarden/mailwarden.conf ] || install -D -m 0644 conf/mailwarden.conf /etc/mailwarden/mailwarden.conf
/usr/local/sbin/mailwarden -n -c /etc/mailwarden/mailwarden.conf

echo "==> starting"
if [ -d /run/systemd/system ]; then
	install -m 0644 contrib/mailwarden.service /etc/systemd/system/mailwarden.service
	systemctl daemon-reload
	systemctl enable --now mailwarden
else
	if [ -f /run/mailwarden/mailwarden.pid ] && kill -0 "$(cat /run/mailwarden/mailwarden.pid)" 2>/dev/null; then
		kill -HUP "$(cat /run/mailwarden/mailwarden.pid)"	# already running: reload
	else
		/usr/local/sbin/mailwarden -c /etc/mailwarden/mailwarden.conf
	fi
fi
sock=$(sed -n 's/^socket *= *"\(.*\)"/\1/p' /etc/mailwarden/mailwarden.conf | tail -1)
port=$(echo "$sock" | sed -n 's/^inet:\([0-9]*\)@.*/\1/p')
# libmilter writes inet:PORT@HOST; Postfix writes inet:HOST:PORT.
case "$sock" in
inet:*@*) pfsock="inet:${sock#*@}:${port}" ;;
inet6:*@*) p6=${sock#inet6:}; pfsock="inet:[${sock#*@}]:${p6%%@*}" ;;
local:*) pfsock="unix:${sock#local:}" ;;
*) pfsock="$sock" ;;
esac
if [ -n "$port" ]; then
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.1
	done
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ||
		{ echo "mailwarden is not answering on $sock" >&2; exit 1; }
fi
echo "mailwarden is running (pid $(cat /run/mailwarden/mailwarden.pid)), listening on $sock"
cat <<EOT

Add these lines to /etc/postfix/main.cf, then run "postfix reload":

    smtpd_milters = ${pfsock}
    non_smtpd_milters = ${pfsock}
    milter_default_action = tempfail
    milter_protocol = 6

(contrib/postfix-main.cf has them with comments; mailwarden(8) and
mailwarden.conf(5) are installed.)
EOT
