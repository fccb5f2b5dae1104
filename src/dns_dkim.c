/*
 * NAME
 *	dns_dkim.c - libopendkim asks the resolver
 * SYNOPSIS
 *	#include "dns.h"
 *
 *	DKIM_LIB *lib = dkim_init(NULL, NULL);
 *	dns_dkim_hooks(lib, conf->dns);
 * DESCRIPTION
 *	libopendkim's DNS is a set of hooks around a "service" handle. Here
 *	the handle is the resolver itself (dkim_dns_set_query_service), the
 *	library's own resolver set-up and tear-down are switched off
 *	(dkim_dns_set_init/close with NULL: the library then neither calls
 *	res_ninit nor frees the handle in dkim_close), and a query is one
 *	synchronous dns_query() made in the start hook; the wait hook only
 *	reports it. The library parses the raw reply itself, rcode included:
 *	NXDOMAIN and NODATA become "no key". A lookup that gets no answer
 *	(timeout, SERVFAIL, spent budget) fails the query, which the library
 *	reports as a key retrieval failure (a temporary error), never as a
 *	missing key.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <sys/time.h>
#include <opendkim/dkim.h>

#include "dns.h"

/* One query: its outcome, kept until the library cancels it. */
struct dkim_q {
	size_t	len;
};

/* dkim_start - run the query now; the reply is in buf */
static int
dkim_start(void *srv, int type, unsigned char *query, unsigned char *buf,
	   size_t buflen, void **qh)
{
	struct dkim_q *q;
	size_t	len = buflen;
	enum dns_status st;

	if (srv == NULL || (q = malloc(sizeof(*q))) == NULL)
		return DKIM_DNS_ERROR;
	st = dns_query(srv, (const char *) query, type, buf, &len);
	if (st != DNS_OK && st != DNS_NXDOMAIN) {
		free(q);
		return DKIM_DNS_ERROR;
	}
	q->len = len;
	*qh = q;
	return DKIM_DNS_SUCCESS;
}

/* dkim_waitreply - the reply is already there */
static int
dkim_waitreply(void *srv, void *qh, struct timeval *to, size_t *bytes,
	       int *error, int *dnssec)
{
	const struct dkim_q *q = qh;

	(void) srv;
	(void) to;
	if (q == NULL)
		return DKIM_DNS_ERROR;
	if (bytes)
		*bytes = q->len;
	if (error)
		*error = 0;
	if (dnssec)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return DKIM_DNS_SUCCESS;
}

/* dkim_cancel - the library is done with a query */
static int
dkim_cancel(void *srv, void *qh)
{
	(void) srv;
	free(qh);
	return DKIM_DNS_SUCCESS;
}

/* dns_dkim_hooks - libopendkim asks r from now on; 0, or -1 */
int
dns_dkim_hooks(DKIM_LIB *lib, struct dns_resolver *r)
{
	if (lib == NULL || r == NULL)
		return -1;
	(void) dkim_dns_close(lib);	/* a resolver the library set up itself */
	dkim_dns_set_init(lib, NULL);
	dkim_dns_set_close(lib, NULL);
	(void) dkim_dns_set_query_service(lib, r);
	dkim_dns_set_query_start(lib, dkim_start);
	dkim_dns_set_query_waitreply(lib, dkim_waitreply);
	dkim_dns_set_query_cancel(lib, dkim_cancel);
	return 0;
}
