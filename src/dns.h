/*
 * NAME
 *	dns.h - the one resolver of mailwarden
 * SYNOPSIS
 *	#include "dns.h"
 * DESCRIPTION
 *	Every DNS lookup of the process goes through a struct dns_resolver:
 *	libspf2 through an SPF_dns_server_t layer (dns_spf_server()),
 *	libopendkim through its query hooks (dns_dkim_hooks()), DMARC and
 *	anything else through dns_query()/dns_txt().
 *
 *	The resolver asks the configured servers (dns_servers, ip[:port]; the
 *	system's resolv.conf when none) with a per-query timeout, and keeps
 *	answers in an in-process cache for their TTL, so the second message
 *	from a domain costs no round trip. It lives in the config snapshot
 *	(conf->dns) and is safe to use from every milter thread at once.
 *
 *	A per-message budget bounds the time a message may spend in DNS: the
 *	stage sets the thread's current budget (dns_budget_set()) before it
 *	calls a library; once the budget is spent every further lookup fails
 *	at once as a temporary error.
 *
 *	Use from a stage:
 *	    at MAIL FROM:  dns_budget_start(&st->budget, m->conf->dns_budget);
 *	    around every library call, in every callback (libmilter may run
 *	    the callbacks of one message on different threads, and the
 *	    current budget is per thread):
 *	        dns_budget_set(&st->budget);
 *	        ... SPF_request_query_mailfrom(), dkim_eom(), dns_txt() ...
 *	        dns_budget_set(NULL);
 *	    st->budget.spent then says the message ran out of DNS time, and
 *	    .queries/.hits how many lookups it made and how many were cached.
 */
#ifndef MW_DNS_H
#define MW_DNS_H

#include <stddef.h>
#include <time.h>

struct dns_resolver;

struct dns_budget {
	struct timespec deadline;	/* CLOCK_MONOTONIC */
	unsigned queries;		/* lookups made (cache misses) */
	unsigned hits;			/* answered from the cache */
	int	spent;			/* the deadline has passed */
};

/* Outcome of a lookup, beside the raw answer. */
enum dns_status {
	DNS_OK = 0,			/* answer (may hold no records: NODATA) */
	DNS_NXDOMAIN,			/* the name does not exist */
	DNS_TEMPFAIL,			/* timeout, SERVFAIL, REFUSED, budget spent */
	DNS_PERMFAIL,			/* malformed name or answer */
};

struct dns_resolver *dns_new(char *const *servers, unsigned nservers,
			     int timeout_sec, unsigned cache_size,
			     char *err, size_t errlen);
void	dns_free(struct dns_resolver *);

/* The thread's current budget; NULL: unbounded (config checks, tools). */
void	dns_budget_start(struct dns_budget *, int seconds);
void	dns_budget_set(struct dns_budget *);
struct dns_budget *dns_budget_get(void);

/*
 * Raw lookup: the reply in wire format (header included) into ans, its
 * length into *anslen. Class IN; type is ns_t_txt, ns_t_a, ...
 * *anslen is the size of ans on entry. DNS_OK and DNS_NXDOMAIN come with
 * the reply (NODATA is DNS_OK with no answer record); the others with
 * *anslen 0. A reply larger than ans is DNS_PERMFAIL, never cut short;
 * 65535 bytes hold any reply.
 */
enum dns_status dns_query(struct dns_resolver *, const char *name, int type,
			  unsigned char *ans, size_t *anslen);

/*
 * TXT lookup: every TXT record of name, each record's strings joined,
 * records separated by NUL, the whole ended by an extra NUL. *nrec is the
 * record count; walk the records by it, since a record may be empty.
 * Records that do not fit in out are DNS_PERMFAIL, never cut short; a
 * record holding a NUL byte is left out (no text policy can hold one).
 */
enum dns_status dns_txt(struct dns_resolver *, const char *name,
			char *out, size_t outlen, unsigned *nrec);

/* Why this thread's last failed lookup failed, for msg_note(). */
const char *dns_last_error(void);

/*
 * Point libraries at the resolver.
 * dns_spf_server(): a new libspf2 DNS layer answering from r; hand it to
 * SPF_server_new_dns(layer, debug), which owns it (SPF_server_free()
 * frees the layer, not r). NULL when out of memory.
 * dns_dkim_hooks(): libopendkim asks r for keys from now on; the DKIM_LIB
 * must not outlive r (make both in the same config snapshot). 0 or -1.
 * Both answer A, AAAA, MX, PTR, TXT through dns_query(): the cache and the
 * thread's budget apply.
 */
struct SPF_dns_server_struct;
struct dkim_lib;
struct SPF_dns_server_struct *dns_spf_server(struct dns_resolver *);
int	dns_dkim_hooks(struct dkim_lib *, struct dns_resolver *);

/* Counters since start, for tests and the log. */
void	dns_stats(const struct dns_resolver *, unsigned long *queries,
		  unsigned long *hits);

/* The servers asked, "127.0.0.1:53, [::1]:53". */
void	dns_servers_text(const struct dns_resolver *, char *buf, size_t len);

#endif
