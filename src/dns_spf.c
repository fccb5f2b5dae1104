/*
 * NAME
 *	dns_spf.c - libspf2 asks the resolver
 * SYNOPSIS
 *	#include "dns.h"
 *
 *	SPF_server_t *spf = SPF_server_new_dns(dns_spf_server(conf->dns), 0);
 * DESCRIPTION
 *	A libspf2 DNS layer (SPF_dns_server_t) whose lookup goes through
 *	dns_query(), so SPF shares the cache, the servers and the message's
 *	budget with everything else. It answers A, AAAA, MX, PTR and TXT
 *	(each TXT record's strings joined, as libspf2's own resolver does)
 *	the way libspf2's spf_dns_resolv.c does, with the status that SPF's
 *	void-lookup limit and temperror depend on (RFC 7208 4.4, 4.6.4):
 *	NXDOMAIN is HOST_NOT_FOUND, an answer without records of the type
 *	is NO_DATA, a timeout, server failure, spent budget or malformed
 *	reply is TRY_AGAIN, and a name that cannot be queried (a label over
 *	63 bytes, a name over 253) is HOST_NOT_FOUND, so that SPF says
 *	"none" for it (RFC 7208 4.3) rather than libspf2's permerror.
 *
 *	libspf2 asks for the obsolete SPF record type (99) before TXT. RFC
 *	7208 3.1 ended its use, so the layer answers it NO_DATA at once,
 *	without a query; libspf2 then asks for TXT, and a message costs one
 *	round trip per SPF record, not two.
 *
 *	The layer holds no state but the resolver pointer; libspf2 may call
 *	it from every thread at once. get_spf, get_exp and add_cache are
 *	left NULL: libspf2 then does those itself through lookup.
 */
#include "autoconf.h"

#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>

#include "dns.h"
#include "dns_int.h"

/* fill_addr - an A or AAAA record; -1 if it has the wrong size */
static int
fill_addr(SPF_dns_rr_t *spfrr, int i, const struct dns_rr *rr, size_t size)
{
	if (rr->rdlen != size || SPF_dns_rr_buf_realloc(spfrr, i, size) != SPF_E_SUCCESS)
		return -1;
	memcpy(spfrr->rr[i], rr->rdata, size);
	return 0;
}

/* fill_name - the domain name at p (PTR, MX exchange); -1 malformed */
static int
fill_name(SPF_dns_rr_t *spfrr, int i, const unsigned char *a, size_t alen,
	  const unsigned char *p)
{
	char	name[NS_MAXDNAME];

	if (dn_expand(a, a + alen, p, name, sizeof(name)) < 0
	    || SPF_dns_rr_buf_realloc(spfrr, i, strlen(name) + 1) != SPF_E_SUCCESS)
		return -1;
	strcpy(spfrr->rr[i]->ptr, name);
	return 0;
}

/* fill_txt - a TXT record, its strings joined; -1 malformed */
static int
fill_txt(SPF_dns_rr_t *spfrr, int i, const struct dns_rr *rr)
{
	unsigned off = 0;
	size_t	n = 0;
	char   *out;

	if (SPF_dns_rr_buf_realloc(spfrr, i, rr->rdlen + 1) != SPF_E_SUCCESS)
		return -1;
	out = spfrr->rr[i]->txt;
	while (off < rr->rdlen) {
		unsigned len = rr->rdata[off];

		if (off + 1 + len > rr->rdlen)
			return -1;
		memcpy(out + n, rr->rdata + off + 1, len);
		n += len;
		off += 1 + len;
	}
	out[n] = 0;
	return 0;
}

/* fill_one - record i of the set from rr; -1 malformed */
static int
fill_one(SPF_dns_rr_t *spfrr, int i, const struct dns_rr *rr,
	 const unsigned char *a, size_t alen)
{
	switch (rr->type) {
	case ns_t_a:
		return fill_addr(spfrr, i, rr, sizeof(struct in_addr));
	case ns_t_aaaa:
		return fill_addr(spfrr, i, rr, sizeof(struct in6_addr));
	case ns_t_mx:
		return rr->rdlen < 3 ? -1 : fill_name(spfrr, i, a, alen, rr->rdata + 2);
	case ns_t_ptr:
		return fill_name(spfrr, i, a, alen, rr->rdata);
	case ns_t_txt:
	case ns_t_spf:
		return fill_txt(spfrr, i, rr);
	default:
		return -1;
	}
}

/*
 * dns_spf_fill - the answer records of spfrr's type into spfrr; CNAMEs
 * and other types are passed over. NO_DATA when none; -1 when the reply
 * is malformed (spfrr is then TRY_AGAIN with no records).
 */
int
dns_spf_fill(SPF_dns_rr_t *spfrr, const unsigned char *a, size_t alen)
{
	struct dns_iter it;
	struct dns_rr rr;
	int	n = 0, r;

	spfrr->num_rr = 0;
	if (dns_wire_iter(&it, a, alen) < 0)
		goto bad;
	while ((r = dns_wire_next(&it, 1, &rr)) == 1) {
		if (rr.type != (int) spfrr->rr_type || rr.class != ns_c_in)
			continue;
		if (fill_one(spfrr, n, &rr, a, alen) < 0)
			goto bad;
		n++;
	}
	if (r < 0)
		goto bad;
	spfrr->num_rr = n;
	spfrr->herrno = n ? NETDB_SUCCESS : NO_DATA;
	return 0;
bad:
	spfrr->num_rr = 0;
	spfrr->herrno = TRY_AGAIN;
	return -1;
}

/* herrno_of - the h_errno libspf2 expects for a failed lookup */
static int
herrno_of(enum dns_status st)
{
	switch (st) {
	case DNS_NXDOMAIN:
	case DNS_PERMFAIL:
		return HOST_NOT_FOUND;
	default:
		return TRY_AGAIN;
	}
}

/* spf_lookup - libspf2's lookup callback */
static SPF_dns_rr_t *
spf_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type,
	   int should_cache)
{
	unsigned char *ans;
	size_t	alen = DNS_MAX_PACKET;
	enum dns_status st = DNS_TEMPFAIL;
	SPF_dns_rr_t *spfrr;

	(void) should_cache;
	if (type == ns_t_spf)
		return SPF_dns_rr_new_init(srv, domain, type, 0, NO_DATA);
	if ((ans = malloc(alen)) != NULL)
		st = dns_query(srv->hook, domain, (int) type, ans, &alen);
	if (st != DNS_OK) {
		free(ans);
		return SPF_dns_rr_new_init(srv, domain, type, 0, herrno_of(st));
	}
	spfrr = SPF_dns_rr_new_init(srv, domain, type, (int) dns_wire_ttl(ans, alen),
				    NETDB_SUCCESS);
	if (spfrr != NULL)
		(void) dns_spf_fill(spfrr, ans, alen);
	free(ans);
	return spfrr;
}

/* spf_destroy - libspf2 frees the layer (not the resolver) */
static void
spf_destroy(SPF_dns_server_t *srv)
{
	free(srv);
}

/* dns_spf_server - a new libspf2 DNS layer over r; NULL out of memory */
SPF_dns_server_t *
dns_spf_server(struct dns_resolver *r)
{
	SPF_dns_server_t *srv;

	if (r == NULL || (srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->destroy = spf_destroy;
	srv->lookup = spf_lookup;
	srv->get_spf = NULL;
	srv->get_exp = NULL;
	srv->add_cache = NULL;
	srv->layer_below = NULL;
	srv->name = "mailwarden";
	srv->hook = r;
	return srv;
}
