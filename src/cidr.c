/*
 * NAME
 *	cidr.c - IPv4 and IPv6 network lists
 * DESCRIPTION
 *	Parsing is strict: a prefix longer than the family allows, host bits
 *	after the prefix, trailing garbage or an empty string are errors,
 *	written to the caller's buffer. An IPv4-mapped IPv6 client address
 *	(::ffff:192.0.2.1) matches IPv4 entries.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

/* cidr_parse - read one network or address */
int
cidr_parse(const char *text, struct cidr *c, char *err, size_t errlen)
{
	char	buf[INET6_ADDRSTRLEN + 8];
	char   *slash, *end;
	unsigned maxbits, i;
	long	bits;

	memset(c, 0, sizeof(*c));
	if (strlen(text) >= sizeof(buf) || *text == 0) {
		snprintf(err, errlen, "bad network \"%.64s\": %s", text,
			 *text ? "too long" : "empty");
		return -1;
	}
	strcpy(buf, text);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = 0;
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		maxbits = 128;
	} else {
		snprintf(err, errlen, "bad network \"%.64s\": not an IPv4 or IPv6 address", text);
		return -1;
	}
	bits = maxbits;
	if (slash != NULL) {
		errno = 0;
		bits = strtol(slash, &end, 10);
		if (*slash < '0' || *slash > '9' || *end != 0 || errno
		    || bits < 0 || bits > (long) maxbits) {
			snprintf(err, errlen, "bad network \"%.64s\": prefix must be 0..%u",
				 text, maxbits);
			return -1;
		}
	}
	c->prefix = (unsigned) bits;
	for (i = 0; i < maxbits / 8; i++) {
		unsigned keep = c->prefix > i * 8 ? c->prefix - i * 8 : 0;
		unsigned char mask = keep >= 8 ? 0xff : (unsigned char) (0xff << (8 - keep));

		if (c->addr[i] & ~mask) {
			snprintf(err, errlen, "bad network \"%.64s\": host bits set after /%u",
				 text, c->prefix);
			return -1;
		}
	}
	return 0;
}

/* cidr_match - is the address inside the network? */
int
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	static const unsigned char v4mapped[12] =
	    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const unsigned char *a;
	unsigned full, rest;

	if (sa->sa_family == AF_INET && c->family == AF_INET) {
		a = (const unsigned char *) &((const struct sockaddr_in *) sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
		if (c->family == AF_INET) {
			if (memcmp(a, v4mapped, 12) != 0)
				return 0;
			a += 12;
		}
	} else {
		return 0;
	}
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(a, c->addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ c->addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* cidr_list_match - is the address inside any network of the list? */
int
cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		if (cidr_match(&l->v[i], sa))
			return 1;
	return 0;
}

/* cidr_list_add - append a network; -1 when out of memory */
int
cidr_list_add(struct cidr_list *l, const struct cidr *c)
{
	struct cidr *nv;

	nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (nv == NULL)
		return -1;
	l->v = nv;
	l->v[l->n++] = *c;
	return 0;
}

/* cidr_list_free - release the list; safe to call twice */
void
cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* cidr_sockaddr - text address to sockaddr; -1 if it is not one */
int
cidr_sockaddr(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}
