/*
 * NAME
 *	spf.c - SPF checks (RFC 7208) with libspf2
 * SYNOPSIS
 *	#include "spf.h"
 *
 *	struct spfcheck *spfcheck_new(dns, receiver, err, errlen)
 *	void	spfcheck_free(spf)
 *
 *	int	spfcheck_run(spf, client, helo, sender, out, err, errlen)
 *	const char *spfcheck_name(result)
 * DESCRIPTION
 *	spfcheck_new() makes, once per config snapshot, a libspf2 server
 *	whose DNS goes through the project's resolver (dns_spf_server())
 *	under a thin layer of our own, which enforces what libspf2 1.2.10
 *	does not:
 *
 *	- the processing limits of RFC 7208 4.6.4 over the whole evaluation:
 *	  libspf2 counts DNS mechanisms per record (an include starts from
 *	  zero again) and lets an 11th one run; it has no void-lookup limit
 *	  at all. The layer counts every term that queries DNS (a, mx, ptr,
 *	  exists, include, redirect, and the p macro; the address lookups of
 *	  MX and PTR names are part of their term) and every term whose answer
 *	  is NXDOMAIN or empty. The 11th term or the 3rd void lookup makes
 *	  the result permerror, and no further query is sent;
 *	- libspf2's record compiler can write past its buffer on a long term
 *	  full of macros (CVE-2023-42118, fixed upstream after Debian 12's
 *	  1.2.10): a record with a macro-bearing term longer than
 *	  SPF_MAX_MACRO_TERM bytes is never handed to it, and is a permerror.
 *	  No legitimate record comes near that length;
 *	- the obsolete SPF RR type (99) is never queried (RFC 7208 3.1), and
 *	  exp= explanations are never fetched: a rejection names the policy
 *	  in our own words, not in text from the sender's DNS.
 *
 *	spfcheck_run() checks one identity: MAIL FROM (sender non-empty) or
 *	HELO (sender NULL or empty; RFC 7208 2.3: also the MAIL FROM
 *	identity of a null sender). A HELO that is not a domain name with a
 *	dot, or a sender domain that is not a host name, is "none" without a
 *	lookup (RFC 7208 4.3). A loopback client, which libspf2 would pass
 *	unasked, is "none" too. It returns 0 with the result, or -1 and err
 *	on an internal failure (out of memory).
 *
 *	The server is shared by all threads; the per-evaluation counters are
 *	thread-local, set for the duration of one spfcheck_run().
 */
#include "autoconf.h"

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_log.h>

#include "spf.h"
#include "addr.h"
#include "dns.h"

#define PENDING_MAX	10		/* address lookups of MX/PTR names */

struct spfcheck {
	SPF_server_t *server;
	SPF_dns_server_t *layer;	/* ours, over dns_spf_server() */
};

/* One evaluation's counters; thread-local while spfcheck_run() runs. */
struct spf_eval {
	unsigned txt;			/* TXT queries: the first is the record */
	unsigned terms;			/* terms that queried DNS */
	unsigned voids;			/* of those, NXDOMAIN or no answer */
	const char *limit;		/* why the evaluation is a permerror */
	unsigned npending, next;	/* names whose addresses come next */
	char	pending[PENDING_MAX][NS_MAXDNAME];
};

static __thread struct spf_eval *cur_eval;
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

/* quiet - libspf2 prints warnings to stderr; modules do not log */
static void
quiet(void)
{
	SPF_warning_handler = NULL;
	SPF_info_handler = NULL;
	SPF_debug_handler = NULL;
}

/* empty_answer - a NO_DATA answer made here, with no DNS query */
static SPF_dns_rr_t *
empty_answer(SPF_dns_server_t *srv, const char *domain, ns_type type)
{
	return SPF_dns_rr_new_init(srv, domain, type, 0, NO_DATA);
}

/* is_term - does this query start a DNS-querying term? */
static int
is_term(struct spf_eval *e, const char *domain, ns_type type)
{
	if (type == ns_t_a || type == ns_t_aaaa) {
		if (e->next < e->npending
		    && strcasecmp(e->pending[e->next], domain) == 0) {
			e->next++;
			return 0;	/* an address of an MX or PTR name */
		}
		e->npending = e->next = 0;
		return 1;
	}
	e->npending = e->next = 0;
	if (type == ns_t_txt)
		return ++e->txt > 1;	/* the first is the domain's own record */
	return 1;
}

/* expect_names - after MX or PTR: their names' address lookups follow */
static void
expect_names(struct spf_eval *e, const SPF_dns_rr_t *rr)
{
	int	i;

	e->npending = e->next = 0;
	if (rr->herrno != NETDB_SUCCESS)
		return;
	for (i = 0; i < rr->num_rr && e->npending < PENDING_MAX; i++) {
		const char *name = rr->rr_type == ns_t_mx ? rr->rr[i]->mx : rr->rr[i]->ptr;

		if (strlen(name) < NS_MAXDNAME)
			strcpy(e->pending[e->npending++], name);
	}
}

/* spfcheck_term_too_long - an SPF record with a long macro-bearing term */
int
spfcheck_term_too_long(const char *txt)
{
	const char *p = txt;
	size_t	n;

	if (strncasecmp(p, "v=spf1", 6) != 0 || (p[6] != ' ' && p[6] != 0))
		return 0;
	while (*p) {
		p += strspn(p, " ");
		n = strcspn(p, " ");
		if (n > SPF_MAX_MACRO_TERM && memchr(p, '%', n) != NULL)
			return 1;
		p += n;
	}
	return 0;
}

/* txt_unsafe - a TXT answer holding a record libspf2 must not compile */
static int
txt_unsafe(const SPF_dns_rr_t *rr)
{
	int	i;

	if (rr->rr_type != ns_t_txt || rr->herrno != NETDB_SUCCESS)
		return 0;
	for (i = 0; i < rr->num_rr; i++)
		if (spfcheck_term_too_long(rr->rr[i]->txt))
			return 1;
	return 0;
}

/* count - note a term's answer; set the limit reason when passed */
static void
count(struct spf_eval *e, const SPF_dns_rr_t *rr)
{
	if (rr->herrno == HOST_NOT_FOUND || rr->herrno == NO_DATA
	    || (rr->herrno == NETDB_SUCCESS && rr->num_rr == 0))
		if (++e->voids > SPF_MAX_VOIDS && e->limit == NULL)
			e->limit = "more than 2 void DNS lookups";
}

/* limit_lookup - our layer's lookup: count, check, ask the layer below */
static SPF_dns_rr_t *
limit_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type,
	     int should_cache)
{
	struct spf_eval *e = cur_eval;
	SPF_dns_rr_t *rr;
	int	term;

	if (type == ns_t_spf || (e && e->limit))
		return empty_answer(srv, domain, type);
	if (e == NULL)
		return SPF_dns_lookup(srv->layer_below, domain, type, should_cache);
	if ((term = is_term(e, domain, type)) && ++e->terms > SPF_MAX_TERMS) {
		e->limit = "more than 10 DNS-querying terms";
		return empty_answer(srv, domain, type);
	}
	rr = SPF_dns_lookup(srv->layer_below, domain, type, should_cache);
	if (term)
		count(e, rr);
	if (type == ns_t_mx || type == ns_t_ptr)
		expect_names(e, rr);
	if (txt_unsafe(rr)) {
		e->limit = "SPF record with an over-long macro term";
		SPF_dns_rr_free(rr);
		return empty_answer(srv, domain, type);
	}
	return rr;
}

/* limit_get_exp - exp= is never looked up: a fixed explanation */
static SPF_errcode_t
limit_get_exp(SPF_server_t *server, const char *domain, char **buf, size_t *len)
{
	static const char text[] = "see the SPF policy of the sender domain";
	char   *p;

	(void) server;
	(void) domain;
	if (*len < sizeof(text)) {
		if ((p = realloc(*buf, sizeof(text))) == NULL)
			return SPF_E_NO_MEMORY;
		*buf = p;
		*len = sizeof(text);
	}
	memcpy(*buf, text, sizeof(text));
	return SPF_E_SUCCESS;
}

/* limit_destroy - free our layer (libspf2 then frees the one below) */
static void
limit_destroy(SPF_dns_server_t *srv)
{
	free(srv);
}

/* limit_layer - our layer over the resolver's; NULL out of memory */
static SPF_dns_server_t *
limit_layer(struct dns_resolver *dns)
{
	SPF_dns_server_t *srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	if ((srv->layer_below = dns_spf_server(dns)) == NULL) {
		free(srv);
		return NULL;
	}
	srv->destroy = limit_destroy;
	srv->lookup = limit_lookup;
	srv->get_exp = limit_get_exp;
	srv->name = "mailwarden-limits";
	return srv;
}

/* spfcheck_free - release a server; NULL is fine */
void
spfcheck_free(struct spfcheck *s)
{
	if (s == NULL)
		return;
	if (s->server)
		SPF_server_free(s->server);	/* leaves the resolver layer */
	if (s->layer)
		SPF_dns_free(s->layer);		/* ours and the one below */
	free(s);
}

/* spfcheck_new - a libspf2 server over dns; NULL with err */
struct spfcheck *
spfcheck_new(struct dns_resolver *dns, const char *receiver, char *err, size_t errlen)
{
	struct spfcheck *s;
	SPF_response_t *resp = NULL;

	pthread_once(&quiet_once, quiet);
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->layer = limit_layer(dns)) == NULL
	    || (s->server = SPF_server_new_dns(s->layer, 0)) == NULL) {
		snprintf(err, errlen, "SPF: out of memory");
		spfcheck_free(s);
		return NULL;
	}
	SPF_server_set_max_dns_mech(s->server, SPF_MAX_TERMS);
	SPF_server_set_max_dns_mx(s->server, PENDING_MAX);
	SPF_server_set_max_dns_ptr(s->server, PENDING_MAX);
	if (SPF_server_set_rec_dom(s->server, receiver) != SPF_E_SUCCESS
	    || SPF_server_set_explanation(s->server, "SPF%_check%_failed", &resp) != SPF_E_SUCCESS) {
		snprintf(err, errlen, "SPF: cannot set up the libspf2 server");
		if (resp)
			SPF_response_free(resp);
		spfcheck_free(s);
		return NULL;
	}
	if (resp)
		SPF_response_free(resp);
	return s;
}

/* set_client - the client address into the request; 1 loopback, -1 bad */
static int
set_client(SPF_request_t *req, const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) sa;
	struct in_addr v4;

	if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(&v4, s6->sin6_addr.s6_addr + 12, sizeof(v4));
		SPF_request_set_ipv4(req, v4);	/* RFC 7208 5: as IPv4 */
	} else if (sa->sa_family == AF_INET) {
		SPF_request_set_ipv4(req, ((const struct sockaddr_in *) sa)->sin_addr);
	} else if (sa->sa_family == AF_INET6) {
		SPF_request_set_ipv6(req, s6->sin6_addr);
	} else {
		return -1;
	}
	return SPF_request_is_loopback(req) ? 1 : 0;
}

/* map_result - libspf2's result to ours */
static enum spfcheck_result
map_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return SPFR_PASS;
	case SPF_RESULT_FAIL:
		return SPFR_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return SPFR_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:
		return SPFR_NEUTRAL;
	case SPF_RESULT_NONE:
		return SPFR_NONE;
	case SPF_RESULT_TEMPERROR:
		return SPFR_TEMPERROR;
	default:
		return SPFR_PERMERROR;
	}
}

/* identity - the domain to check and the envelope-from libspf2 gets */
static int
identity(const char *helo, const char *sender, struct spfcheck_out *out,
	 char *from, size_t fromlen)
{
	const char *at;

	if (sender == NULL || *sender == 0) {
		if (addr_domain_ascii(helo, strlen(helo), out->domain, sizeof(out->domain)) < 0
		    || strchr(out->domain, '.') == NULL)
			return -1;
		snprintf(from, fromlen, "postmaster@%s", out->domain);
		return 0;
	}
	if (addr_sender_domain(sender, out->domain, sizeof(out->domain)) < 0)
		return -1;
	at = strrchr(sender, '@');
	snprintf(from, fromlen, "%.*s@%s", (int) (at - sender), sender, out->domain);
	return 0;
}

/* first_error - the code of the response's first error, or err */
static SPF_errcode_t
first_error(SPF_response_t *resp, SPF_errcode_t err)
{
	int	i;

	for (i = 0; i < SPF_response_messages(resp); i++)
		if (SPF_error_errorp(SPF_response_message(resp, i)))
			return SPF_error_code(SPF_response_message(resp, i));
	return err;
}

/*
 * result_of - the result of an evaluation. libspf2 1.2.10 leaves the
 * response's result unset when it stops before evaluating the record:
 * a DNS failure fetching it (temperror), or a record that does not
 * compile (permerror; its first error says why).
 */
static enum spfcheck_result
result_of(SPF_response_t *resp, SPF_errcode_t err, struct spfcheck_out *out)
{
	SPF_result_t r = SPF_response_result(resp);

	if (r == SPF_RESULT_INVALID && err == SPF_E_DNS_ERROR)
		return SPFR_TEMPERROR;
	if (r == SPF_RESULT_INVALID || r == SPF_RESULT_PERMERROR) {
		if (err == SPF_E_SUCCESS)
			err = SPF_response_errcode(resp);
		snprintf(out->why, sizeof(out->why), "%s", SPF_strerror(first_error(resp, err)));
		return SPFR_PERMERROR;
	}
	return map_result(r);
}

/* query - run libspf2 with this thread's counters; -1 out of memory */
static int
query(SPF_request_t *req, struct spfcheck_out *out)
{
	struct spf_eval *e;
	SPF_response_t *resp = NULL;
	SPF_errcode_t err;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	cur_eval = e;
	err = SPF_request_query_mailfrom(req, &resp);
	cur_eval = NULL;
	out->terms = e->terms;
	out->voids = e->voids;
	if (resp == NULL || err == SPF_E_NO_MEMORY) {
		if (resp)
			SPF_response_free(resp);
		free(e);
		return -1;
	}
	out->result = result_of(resp, err, out);
	if (e->limit) {
		out->result = SPFR_PERMERROR;
		snprintf(out->why, sizeof(out->why), "%s", e->limit);
	}
	SPF_response_free(resp);
	free(e);
	return 0;
}

/* spfcheck_run - check one identity; 0 with out, -1 with err */
int
spfcheck_run(struct spfcheck *s, const struct sockaddr *client, const char *helo,
	     const char *sender, struct spfcheck_out *out, char *err, size_t errlen)
{
	char	from[1024];
	SPF_request_t *req;
	int	rc;

	memset(out, 0, sizeof(*out));
	if (identity(helo, sender, out, from, sizeof(from)) < 0) {
		snprintf(out->why, sizeof(out->why), "%s",
			 sender && *sender ? "no valid sender domain" : "HELO is not a domain name");
		return 0;
	}
	if ((req = SPF_request_new(s->server)) == NULL)
		goto nomem;
	if ((rc = set_client(req, client)) != 0) {
		snprintf(out->why, sizeof(out->why), "%s",
			 rc > 0 ? "loopback client, not checked" : "no client address");
		SPF_request_free(req);
		return 0;
	}
	if (SPF_request_set_helo_dom(req, *helo ? helo : "unknown") != SPF_E_SUCCESS
	    || SPF_request_set_env_from(req, from) != 0 || query(req, out) < 0) {
		SPF_request_free(req);
		goto nomem;
	}
	SPF_request_free(req);
	return 0;
nomem:
	snprintf(err, errlen, "SPF: out of memory");
	return -1;
}

/* spfcheck_name - the RFC 8601 result word */
const char *
spfcheck_name(enum spfcheck_result r)
{
	static const char *const names[] = {
		"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror",
	};

	return (unsigned) r < sizeof(names) / sizeof(names[0]) ? names[r] : "permerror";
}
