/*
 * NAME
 *	dns_conf.c - the resolver's server list
 * SYNOPSIS
 *	#include "dns_int.h"
 * DESCRIPTION
 *	dns_conf_server() reads one dns_servers entry: an IPv4 or IPv6
 *	address with an optional port (192.0.2.1, 192.0.2.1:5353, 2001:db8::1,
 *	[2001:db8::1]:5353, fe80::1%eth0). dns_conf_resolvconf() reads the
 *	"nameserver" lines of resolv.conf the way glibc does: at most the
 *	first three good ones, port 53, bad lines ignored, and 127.0.0.1
 *	when there is none (or no file).
 */
#include "autoconf.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "dns_int.h"

#define RESOLVCONF_MAXNS 3		/* glibc's MAXNS */

/* split_port - host and port of "h", "h:p", "[h]:p", "[h]"; -1 bad form */
static int
split_port(char *buf, char **host, char **port)
{
	char   *close;

	*host = buf;
	*port = NULL;
	if (*buf == '[') {
		if ((close = strchr(buf, ']')) == NULL
		    || (close[1] != 0 && close[1] != ':'))
			return -1;
		*close = 0;
		*host = buf + 1;
		if (close[1] == ':')
			*port = close + 2;
	} else if (strchr(buf, ':') != NULL && strchr(buf, ':') == strrchr(buf, ':')) {
		*port = strchr(buf, ':');
		*(*port)++ = 0;
	}
	return 0;
}

/* port_of - a port number 1..65535, or -1 */
static long
port_of(const char *text)
{
	char   *end;
	long	p;

	if (text == NULL)
		return 53;
	if (*text < '0' || *text > '9')
		return -1;
	p = strtol(text, &end, 10);
	return *end == 0 && p >= 1 && p <= 65535 ? p : -1;
}

/* numeric_addr - a numeric address into s; -1 if it is not one */
static int
numeric_addr(const char *host, long port, struct dns_server *s)
{
	struct addrinfo hints, *res;
	char	pbuf[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_DGRAM;
	snprintf(pbuf, sizeof(pbuf), "%ld", port);
	if (getaddrinfo(host, pbuf, &hints, &res) != 0)
		return -1;
	memset(s, 0, sizeof(*s));
	memcpy(&s->ss, res->ai_addr, res->ai_addrlen);
	s->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* dns_conf_server - one "ip[:port]" entry; 0, or -1 with err */
int
dns_conf_server(const char *text, struct dns_server *s, char *err, size_t errlen)
{
	char	buf[INET6_ADDRSTRLEN + 32], *host, *port;
	long	p;

	if (strlen(text) >= sizeof(buf))
		goto bad;
	strcpy(buf, text);
	if (split_port(buf, &host, &port) < 0 || (p = port_of(port)) < 0
	    || numeric_addr(host, p, s) < 0)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "\"%.100s\" is not an IP address with an optional port "
		 "(192.0.2.1:53, [2001:db8::1]:53)", text);
	return -1;
}

/* resolvconf_line - the server of a "nameserver ADDR" line; 1, 0 not one */
static int
resolvconf_line(const char *line, struct dns_server *s)
{
	char	addr[INET6_ADDRSTRLEN + 32];
	size_t	n;

	if (strncmp(line, "nameserver", 10) != 0 || (line[10] != ' ' && line[10] != '\t'))
		return 0;
	line += 10 + strspn(line + 10, " \t");
	n = strcspn(line, " \t\r\n#;");
	if (n == 0 || n >= sizeof(addr))
		return 0;
	memcpy(addr, line, n);
	addr[n] = 0;
	return numeric_addr(addr, 53, s) == 0;
}

/* dns_conf_resolvconf - the servers of a resolv.conf; how many (>= 1) */
int
dns_conf_resolvconf(const char *path, struct dns_server *s, unsigned max,
		    char *err, size_t errlen)
{
	char	line[1024];
	unsigned n = 0;
	FILE   *fp;

	if (max > RESOLVCONF_MAXNS)
		max = RESOLVCONF_MAXNS;
	if ((fp = fopen(path, "r")) != NULL) {
		while (n < max && fgets(line, sizeof(line), fp) != NULL)
			n += resolvconf_line(line, &s[n]);
		fclose(fp);
	}
	if (n == 0 && max > 0 && numeric_addr("127.0.0.1", 53, &s[n++]) < 0) {
		snprintf(err, errlen, "cannot make the default server 127.0.0.1");
		return -1;
	}
	return (int) n;
}

/* dns_conf_print - "192.0.2.1:53" or "[2001:db8::1]:53" */
void
dns_conf_print(const struct dns_server *s, char *buf, size_t len)
{
	char	host[NI_MAXHOST], port[NI_MAXSERV];

	if (getnameinfo((const struct sockaddr *) &s->ss, s->len, host, sizeof(host),
			port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, s->ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}
