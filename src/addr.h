/*
 * NAME
 *	addr.h - mail addresses: the domains of a From header, domain names
 * SYNOPSIS
 *	#include "addr.h"
 * DESCRIPTION
 *	addr_parse_from() reads one RFC 5322 From field body (mailbox-list,
 *	with groups, comments, quoted strings and RFC 2047 encoded words in
 *	display names) and returns the distinct domains of its mailboxes,
 *	as lower-case A-labels. Anything it cannot read with certainty is an
 *	error, never a guess: DMARC must not evaluate another domain than
 *	the one a mail reader shows.
 */
#ifndef MW_ADDR_H
#define MW_ADDR_H

#include <stddef.h>

#define ADDR_MAX_MAILBOXES 16		/* mailboxes in one From field */
#define ADDR_DOMAIN_LEN	254		/* 253 + NUL */

struct addr_from {
	unsigned nmailbox;		/* mailboxes read */
	unsigned ndomain;		/* distinct domains */
	char	domain[ADDR_MAX_MAILBOXES][ADDR_DOMAIN_LEN];
};

int	addr_parse_from(const char *value, struct addr_from *out,
			char *err, size_t errlen);
int	addr_domain_ascii(const char *in, size_t len, char *out, size_t outlen);
int	addr_domain_ok(const char *domain);
int	addr_sender_domain(const char *sender, char *out, size_t outlen);
int	addr_is_subdomain(const char *domain, const char *parent);

#endif
