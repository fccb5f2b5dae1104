/*
 * NAME
 *	options.c - every configuration option, declared once
 * DESCRIPTION
 *	This table is the only place an option is declared. The parser
 *	(config.c) builds libconfuse's option tree from it and checks types
 *	and bounds with it; "mailwarden -O" prints the option reference of
 *	mailwarden.conf(5) from it. A row names its section ("" for the top
 *	level, "sign|key" for a nested section), its type, its default as it
 *	would be written in the file, its bounds, and one line of help.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

#define NOB	0, 0			/* no numeric bounds */

const struct mw_option mw_options[] = {
	/* --- daemon --- */
	{"", "socket", MW_T_STR, "inet:8891@127.0.0.1", NOB, NULL, opt_check_socket,
	 "where the MTA connects: unix:/path, inet:PORT@HOST or inet6:PORT@HOST"},
	{"", "pid_file", MW_T_STR, "/run/mailwarden/mailwarden.pid", NOB, NULL, NULL,
	 "file the daemon writes its process ID to (empty: none)"},
	{"", "user", MW_T_STR, "mailwarden", NOB, NULL, NULL,
	 "user to run as once the socket is open (empty: do not change)"},
	{"", "group", MW_T_STR, "", NOB, NULL, NULL,
	 "group to run as (empty: the user's login group)"},
	{"", "umask", MW_T_INT, "0007", 0, 0777, NULL, NULL,
	 "umask for the unix socket and the files mailwarden creates"},
	{"", "syslog_facility", MW_T_ENUM, "mail", NOB,
	 "mail|daemon|user|local0|local1|local2|local3|local4|local5|local6|local7",
	 NULL, "syslog facility of the log"},
	{"", "on_error", MW_T_ENUM, "tempfail", NOB, "tempfail|accept", NULL,
	 "answer when mailwarden itself fails on a message"},
	{"", "milter_timeout", MW_T_INT, "300", 1, 3600, NULL, NULL,
	 "seconds libmilter waits for the MTA's next command"},
	{"", "milter_backlog", MW_T_INT, "128", 1, 65535, NULL, NULL,
	 "listen queue length of the milter socket"},
	{"", "internal_hosts", MW_T_CIDRS, "{127.0.0.0/8, ::1/128}", NOB, NULL, NULL,
	 "client networks whose mail is outbound (CIDR list, IPv4 and IPv6)"},
	{"", "internal_daemons", MW_T_LIST, "{}", NOB, NULL, NULL,
	 "values of the MTA's {daemon_name} whose mail is outbound, e.g. submission"},
	{"", "authserv_id", MW_T_STR, "", NOB, NULL, opt_check_hostname,
	 "authserv-id of the Authentication-Results header (empty: the host name)"},
	{"", "max_headers", MW_T_INT, "1000", 10, 100000, NULL, NULL,
	 "headers per message; a message with more is rejected 552 5.3.4"},
	{"", "max_header_bytes", MW_T_INT, "1048576", 1024, 67108864, NULL, NULL,
	 "bytes of header per message; a message with more is rejected 552 5.3.4"},

	/* --- DNS --- */
	{"", "dns_servers", MW_T_LIST, "{}", NOB, NULL, opt_check_hostport,
	 "DNS servers to ask, ip[:port] (empty: those of /etc/resolv.conf)"},
	{"", "dns_timeout", MW_T_INT, "2", 1, 60, NULL, NULL,
	 "seconds to wait for one DNS answer"},
	{"", "dns_budget", MW_T_INT, "10", 1, 300, NULL, NULL,
	 "seconds of DNS lookups one message may spend in all"},
	{"", "dns_cache_size", MW_T_INT, "10000", 0, 10000000, NULL, NULL,
	 "DNS answers kept in memory, each until its TTL runs out (0: no cache)"},

	/* --- inbound authentication --- */
	{"", "inbound_checks", MW_T_BOOL, "yes", NOB, NULL, NULL,
	 "check SPF, DKIM and DMARC on inbound mail"},
	{"", "spf", MW_T_BOOL, "yes", NOB, NULL, NULL,
	 "check SPF for the HELO and MAIL FROM identities"},
	{"", "spf_fail_reject", MW_T_BOOL, "no", NOB, NULL, NULL,
	 "reject SPF fail (550 5.7.23) when the From domain has no DMARC policy"},
	{"", "received_spf", MW_T_BOOL, "no", NOB, NULL, NULL,
	 "also add a Received-SPF header"},
	{"", "dkim_verify", MW_T_BOOL, "yes", NOB, NULL, NULL,
	 "verify the DKIM signatures of inbound mail"},
	{"", "max_signatures", MW_T_INT, "8", 1, 64, NULL, NULL,
	 "DKIM signatures verified per message; more are reported as policy"},
	{"", "dmarc", MW_T_BOOL, "yes", NOB, NULL, NULL,
	 "evaluate and enforce DMARC"},
	{"", "public_suffix_list", MW_T_STR,
	 "/usr/share/publicsuffix/public_suffix_list.dat", NOB, NULL, NULL,
	 "public suffix list that gives the organizational domain"},
	{"", "dmarc_monitor_only", MW_T_BOOL, "no", NOB, NULL, NULL,
	 "evaluate and record DMARC but never reject, hold or tag"},
	{"", "dmarc_quarantine", MW_T_ENUM, "hold", NOB, "hold|tag", NULL,
	 "quarantine policy: the MTA's hold queue, or a tag header"},
	{"", "dmarc_tag_header", MW_T_STR, "X-Mailwarden-Quarantine", NOB, NULL,
	 opt_check_header_name, "header added to mail that DMARC says to quarantine"},
	{"", "dmarc_never_reject", MW_T_LIST, "{}", NOB, NULL, opt_check_domain,
	 "From domains (and their subdomains) whose reject policy is applied as quarantine"},
	{"", "dmarc_always_tag", MW_T_LIST, "{}", NOB, NULL, opt_check_domain,
	 "From domains (and their subdomains) whose failing mail is only tagged"},
	{"", "temperror_action", MW_T_ENUM, "tempfail", NOB, "tempfail|accept", NULL,
	 "answer when a DNS failure leaves DMARC undecided: 451 4.4.3, or accept"},

	/* --- outbound signing --- */
	{"", "signing", MW_T_BOOL, "yes", NOB, NULL, NULL,
	 "DKIM-sign outbound mail"},
	{"", "sign_canonicalization", MW_T_ENUM, "relaxed/relaxed", NOB,
	 "relaxed/relaxed|relaxed/simple|simple/relaxed|simple/simple", NULL,
	 "header/body canonicalization of new signatures"},
	{"", "sign_headers", MW_T_LIST,
	 "{From, Reply-To, Subject, Date, To, Cc, Resent-Date, Resent-From, "
	 "Resent-To, Resent-Cc, In-Reply-To, References, List-Id, List-Help, "
	 "List-Unsubscribe, List-Subscribe, List-Post, List-Owner, List-Archive, "
	 "Message-ID, MIME-Version, Content-Type, Content-Transfer-Encoding}",
	 NOB, NULL, opt_check_header_name,
	 "headers signed when present (RFC 6376 section 5.4.1 and MIME)"},
	{"", "oversign_headers", MW_T_LIST,
	 "{From, Subject, Date, To, Cc, Reply-To, Message-ID}", NOB, NULL,
	 opt_check_header_name,
	 "headers signed once more than present, so no copy can be added"},
	{"", "sign_expire", MW_T_INT, "0", 0, 31536000, NULL, NULL,
	 "seconds until a signature expires (x=); 0: no expiry"},
	{"", "require_safe_keys", MW_T_BOOL, "yes", NOB, NULL, NULL,
	 "refuse private keys readable by group or others"},
	{"", "keytable", MW_T_STR, "", NOB, NULL, NULL,
	 "OpenDKIM KeyTable file (plain form) to import"},
	{"", "signingtable", MW_T_STR, "", NOB, NULL, NULL,
	 "OpenDKIM SigningTable file (plain form) to import"},
	{"", "sign_fallback_domain", MW_T_STR, "", NOB, NULL, opt_check_domain,
	 "sign mail whose From domain has no key with this domain's keys"},
	{"", "sign", MW_T_SECTION, NULL, NOB, NULL, NULL,
	 "sign \"DOMAIN\" { ... }: the keys of one signing domain"},
	{"sign", "subdomains", MW_T_BOOL, "no", NOB, NULL, NULL,
	 "also sign mail from subdomains of DOMAIN with its keys"},
	{"sign", "key", MW_T_SECTION, NULL, NOB, NULL, NULL,
	 "key \"SELECTOR\" { file = ... }: one key; RSA and Ed25519 may both be given"},
	{"sign|key", "file", MW_T_STR, "", NOB, NULL, NULL,
	 "PEM private key file (RSA or Ed25519)"},

	/* --- rate limits --- */
	{"", "ratelimit_store", MW_T_ENUM, "memory", NOB, "memory|redis", NULL,
	 "where rate-limit state lives: in this process, or in Redis"},
	{"", "redis_server", MW_T_STR, "127.0.0.1:6379", NOB, NULL, opt_check_redis,
	 "Redis server: host:port or unix:/path"},
	{"", "redis_timeout", MW_T_INT, "250", 10, 10000, NULL, NULL,
	 "milliseconds to wait for Redis"},
	{"", "redis_down_action", MW_T_ENUM, "accept", NOB, "accept|tempfail", NULL,
	 "answer when Redis cannot be reached"},
	{"", "ratelimit_max_keys", MW_T_INT, "1000000", 1000, 100000000, NULL, NULL,
	 "rate-limit keys the in-memory store holds; idle ones go first"},
	{"", "control_socket", MW_T_STR, "", NOB, NULL, opt_check_abspath,
	 "unix socket for mailwarden-ctl (empty: none)"},
	{"", "ratelimit", MW_T_SECTION, NULL, NOB, NULL, NULL,
	 "ratelimit \"NAME\" { ... }: one rate-limit rule"},
	{"ratelimit", "key", MW_T_LIST, "{sasl_user}", NOB,
	 "sasl_user|sender|sender_domain|client_ip|client_net|rcpt_domain", NULL,
	 "what the rule counts by; several items combine"},
	{"ratelimit", "count", MW_T_ENUM, "messages", NOB, "messages|recipients", NULL,
	 "count messages (decided at MAIL FROM) or recipients (at RCPT TO)"},
	{"ratelimit", "rate", MW_T_INT, "100", 1, 100000000, NULL, NULL,
	 "how many per period"},
	{"ratelimit", "period", MW_T_INT, "3600", 1, 31536000, NULL, NULL,
	 "the period, in seconds"},
	{"ratelimit", "burst", MW_T_INT, "0", 0, 100000000, NULL, NULL,
	 "most that may come at once from a key at rest (0: rate)"},
	{"ratelimit", "direction", MW_T_ENUM, "both", NOB, "inbound|outbound|both", NULL,
	 "which mail the rule applies to"},
	{"ratelimit", "except_hosts", MW_T_CIDRS, "{}", NOB, NULL, NULL,
	 "client networks the rule never limits"},
	{"ratelimit", "except_users", MW_T_LIST, "{}", NOB, NULL, NULL,
	 "SASL users the rule never limits"},
	{"ratelimit", "except_domains", MW_T_LIST, "{}", NOB, NULL, opt_check_domain,
	 "sender domains the rule never limits"},
	{"ratelimit", "action", MW_T_ENUM, "tempfail", NOB, "tempfail|reject|log", NULL,
	 "over the limit: 451 4.7.1, 550 5.7.1, or only log (shadow mode)"},

	/* --- archiving --- */
	{"", "journal_dir", MW_T_STR, "/var/spool/mailwarden/journal", NOB, NULL, NULL,
	 "directory of the archive journal"},
	{"", "archive", MW_T_SECTION, NULL, NOB, NULL, NULL,
	 "archive \"NAME\" { ... }: one archive rule"},
	{"archive", "direction", MW_T_ENUM, "both", NOB, "inbound|outbound|both", NULL,
	 "which mail the rule applies to"},
	{"archive", "sender_domains", MW_T_LIST, "{}", NOB, NULL, opt_check_domain,
	 "match only these sender domains (empty: any)"},
	{"archive", "recipient_domains", MW_T_LIST, "{}", NOB, NULL, opt_check_domain,
	 "match only mail with a recipient in these domains (empty: any)"},
	{"archive", "sasl_users", MW_T_LIST, "{}", NOB, NULL, NULL,
	 "match only these SASL users (empty: any)"},
	{"archive", "bcc", MW_T_LIST, "{}", NOB, NULL, opt_check_address,
	 "archive addresses that receive a copy"},
	{"archive", "journal", MW_T_BOOL, "no", NOB, NULL, NULL,
	 "also write the message and its envelope to journal_dir"},
	{"archive", "best_effort", MW_T_BOOL, "no", NOB, NULL, NULL,
	 "accept the message even when the journal cannot be written"},

	{NULL, NULL, 0, NULL, NOB, NULL, NULL, NULL},
};

/* port_ok - "1".."65535", digits only */
static int
port_ok(const char *p)
{
	char   *end;
	long	v;

	if (!isdigit((unsigned char) *p))
		return 0;
	v = strtol(p, &end, 10);
	return *end == 0 && v >= 1 && v <= 65535;
}

/* opt_check_socket - unix:/path, local:/path, inet:PORT@HOST, inet6:PORT@HOST */
int
opt_check_socket(const char *v, char *err, size_t len)
{
	char	port[16];
	const char *at, *p;

	if (strncmp(v, "unix:", 5) == 0 || strncmp(v, "local:", 6) == 0) {
		p = strchr(v, ':') + 1;
		if (*p != '/' || strlen(p) > 100) {
			snprintf(err, len, "\"%.100s\": a unix socket needs an absolute path of at most 100 bytes", v);
			return -1;
		}
		return 0;
	}
	if (strncmp(v, "inet:", 5) == 0 || strncmp(v, "inet6:", 6) == 0) {
		p = strchr(v, ':') + 1;
		at = strchr(p, '@');
		if ((size_t) ((at ? at : p + strlen(p)) - p) < sizeof(port)) {
			memcpy(port, p, (size_t) ((at ? at : p + strlen(p)) - p));
			port[(at ? at : p + strlen(p)) - p] = 0;
			if (port_ok(port) && (at == NULL || at[1] != 0))
				return 0;
		}
		snprintf(err, len, "\"%.100s\": write inet:PORT@HOST with a port 1..65535", v);
		return -1;
	}
	snprintf(err, len, "\"%.100s\": use unix:/path, inet:PORT@HOST or inet6:PORT@HOST", v);
	return -1;
}

/* opt_check_hostname - letters, digits, '-', '.', '_'; at most 253 bytes */
int
opt_check_hostname(const char *v, char *err, size_t len)
{
	const char *p;

	for (p = v; *p; p++)
		if (!isalnum((unsigned char) *p) && !strchr("-._", *p))
			break;
	if (*p || p - v > 253 || *v == '.' || *v == '-') {
		snprintf(err, len, "\"%.100s\" is not a host name", v);
		return -1;
	}
	return 0;
}

/* opt_check_domain - a domain name, as a host name */
int
opt_check_domain(const char *v, char *err, size_t len)
{
	if (opt_check_hostname(v, err, len) < 0 || strchr(v, '.') == NULL) {
		snprintf(err, len, "\"%.100s\" is not a domain name", v);
		return -1;
	}
	return 0;
}

/* opt_check_hostport - IPv4 or IPv6 address, optional :port ([v6]:port) */
int
opt_check_hostport(const char *v, char *err, size_t len)
{
	char	buf[INET6_ADDRSTRLEN + 8], bin[16];
	char   *port = NULL, *host = buf;

	if (strlen(v) >= sizeof(buf))
		goto bad;
	strcpy(buf, v);
	if (*buf == '[') {
		char   *close = strchr(buf, ']');

		if (close == NULL || (close[1] != 0 && close[1] != ':'))
			goto bad;
		*close = 0;
		host = buf + 1;
		if (close[1] == ':')
			port = close + 2;
	} else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':')) {
		port = strchr(buf, ':');
		*port++ = 0;
	}
	if (port && !port_ok(port))
		goto bad;
	if (inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1)
		return 0;
bad:
	snprintf(err, len, "\"%.100s\": write an IP address with an optional port, "
		 "192.0.2.1:53 or [2001:db8::1]:53", v);
	return -1;
}

/* opt_check_redis - host:port or unix:/path */
int
opt_check_redis(const char *v, char *err, size_t len)
{
	const char *colon = strrchr(v, ':');

	if (strncmp(v, "unix:/", 6) == 0)
		return 0;
	if (colon && colon != v && port_ok(colon + 1))
		return 0;
	snprintf(err, len, "\"%.100s\": write host:port or unix:/path", v);
	return -1;
}

/* opt_check_abspath - an absolute path of at most 100 bytes (unix sockets) */
int
opt_check_abspath(const char *v, char *err, size_t len)
{
	if (*v != '/' || strlen(v) > 100) {
		snprintf(err, len, "\"%.100s\": write an absolute path of at most 100 bytes", v);
		return -1;
	}
	return 0;
}

/* opt_check_header_name - printable ASCII without ':' or space (RFC 5322) */
int
opt_check_header_name(const char *v, char *err, size_t len)
{
	const char *p;

	for (p = v; *p; p++)
		if (*p <= 32 || *p >= 127 || *p == ':')
			break;
	if (*p || p == v) {
		snprintf(err, len, "\"%.100s\" is not a header name", v);
		return -1;
	}
	return 0;
}

/* opt_check_address - local@domain, no brackets or spaces */
int
opt_check_address(const char *v, char *err, size_t len)
{
	const char *at = strrchr(v, '@');
	const char *p;

	for (p = v; *p; p++)
		if (*p <= 32 || *p >= 127 || strchr("<>(),;\\\"", *p))
			break;
	if (*p || at == NULL || at == v || opt_check_domain(at + 1, err, len) < 0) {
		snprintf(err, len, "\"%.100s\" is not a mail address (local@domain)", v);
		return -1;
	}
	return 0;
}
