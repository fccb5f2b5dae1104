/*
 * NAME
 *	dmarc.c - DMARC evaluation (RFC 7489) of one From domain
 * SYNOPSIS
 *	#include "dmarc.h"
 *
 *	int	dmarceval_psl_load(path, &psl, err, errlen)
 *	void	dmarceval_orgdomain(psl, domain, out, outlen)
 *	int	dmarceval_aligned(psl, from, auth, strict)
 *
 *	int	dmarceval_pick(txt, nrec, &record)
 *	int	dmarceval_parse(record, domain, &rec, &why)
 *	void	dmarceval_decide(psl, &rec, at_org, auth, roll, out)
 *	int	dmarceval_run(dns, psl, from, auth, out)
 * DESCRIPTION
 *	dmarceval_run() evaluates one From domain: policy discovery through
 *	the project's resolver (_dmarc.FROM, then _dmarc.ORG when FROM has
 *	none; RFC 7489 6.6.3), the record read by libopendmarc
 *	(opendmarc_policy_store_dmarc() and its fetch functions), then
 *	identifier alignment and the policy to apply.
 *
 *	The organizational domain and alignment are computed here, with
 *	libpsl on the snapshot's public suffix list, rather than by
 *	libopendmarc: its list is process-global state loaded by a
 *	"call once at start-up, not thread-safe" function, which cannot
 *	follow a reload, and its relaxed check takes a public suffix as
 *	aligned with every domain under it (d=co.uk with From: x@bank.co.uk).
 *	Relaxed alignment here means equal organizational domains; strict
 *	means equal domains.
 *
 *	Results: pass (an aligned SPF or DKIM pass); fail (a policy exists
 *	and nothing aligned passed); none (no policy); temperror (the policy
 *	lookup failed for now, or it failed but an aligned SPF or DKIM check
 *	had a temporary error, so a retry may pass); permerror (several
 *	DMARC records, or one libopendmarc refuses). On fail, "policy" is p,
 *	or sp when the record came from the organizational domain and has
 *	one; "effective" is that policy after pct: a message not sampled
 *	gets the next milder policy (RFC 7489 6.6.4). pct=0 never samples,
 *	pct=100 always.
 *
 *	dmarceval_run() returns 0, or -1 on an internal failure (memory).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <opendmarc/dmarc.h>

#include "dmarc.h"
#include "addr.h"
#include "dns.h"

#define DMARC_TXT_MAX	4096		/* all TXT records of a _dmarc name */

/* dmarceval_psl_load - read a public suffix list; -1 with err */
int
dmarceval_psl_load(const char *path, psl_ctx_t **out, char *err, size_t errlen)
{
	if ((*out = psl_load_file(path)) == NULL) {
		snprintf(err, errlen, "cannot read the public suffix list %s", path);
		return -1;
	}
	return 0;
}

/* dmarceval_orgdomain - the organizational domain (RFC 7489 3.2) */
void
dmarceval_orgdomain(const psl_ctx_t *psl, const char *domain, char *out, size_t outlen)
{
	const char *reg = psl_registrable_domain(psl, domain);

	/* A public suffix itself has no registrable part: it is its own. */
	snprintf(out, outlen, "%s", reg ? reg : domain);
}

/* dmarceval_aligned - identifier alignment (RFC 7489 3.1) */
int
dmarceval_aligned(const psl_ctx_t *psl, const char *from, const char *auth, int strict)
{
	char	o1[ADDR_DOMAIN_LEN], o2[ADDR_DOMAIN_LEN];

	if (*from == 0 || *auth == 0)
		return 0;
	if (strcasecmp(from, auth) == 0)
		return 1;
	if (strict)
		return 0;
	dmarceval_orgdomain(psl, from, o1, sizeof(o1));
	dmarceval_orgdomain(psl, auth, o2, sizeof(o2));
	return strcasecmp(o1, o2) == 0;
}

/* is_dmarc_record - starts with "v" *WSP "=" *WSP "DMARC1", then ; or end */
static int
is_dmarc_record(const char *r)
{
	r += strspn(r, " \t");
	if (*r++ != 'v')
		return 0;
	r += strspn(r, " \t");
	if (*r++ != '=')
		return 0;
	r += strspn(r, " \t");
	if (strncmp(r, "DMARC1", 6) != 0)
		return 0;
	r += 6;
	r += strspn(r, " \t");
	return *r == ';' || *r == 0;
}

/* dmarceval_pick - the one DMARC record: 1, 0 (none) or -1 (several) */
int
dmarceval_pick(const char *txt, unsigned nrec, const char **record)
{
	unsigned i, found = 0;

	*record = NULL;
	for (i = 0; i < nrec; i++, txt += strlen(txt) + 1)
		if (is_dmarc_record(txt) && found++ == 0)
			*record = txt;
	return found > 1 ? -1 : found == 1;
}

/* policy_of - libopendmarc's p/sp code to ours */
static enum dmarceval_policy
policy_of(int code)
{
	return code == DMARC_RECORD_P_REJECT ? DP_REJECT
	    : code == DMARC_RECORD_P_QUARANTINE ? DP_QUARANTINE : DP_NONE;
}

/* fetch - the record's values from a parsed context */
static void
fetch(DMARC_POLICY_T *pctx, struct dmarceval_record *r)
{
	int	p = 0, sp = 0, pct = 100, adkim = 0, aspf = 0;

	opendmarc_policy_fetch_p(pctx, &p);
	opendmarc_policy_fetch_sp(pctx, &sp);
	opendmarc_policy_fetch_pct(pctx, &pct);
	opendmarc_policy_fetch_adkim(pctx, &adkim);
	opendmarc_policy_fetch_aspf(pctx, &aspf);
	r->p = policy_of(p);
	r->has_sp = sp != DMARC_RECORD_P_UNSPECIFIED;
	r->sp = r->has_sp ? policy_of(sp) : r->p;
	r->pct = pct < 0 ? 0 : pct > 100 ? 100 : pct;
	r->adkim_strict = adkim == DMARC_RECORD_A_STRICT;
	r->aspf_strict = aspf == DMARC_RECORD_A_STRICT;
}

/* dmarceval_parse - read a record with libopendmarc: 1, 0 refused, -1 */
int
dmarceval_parse(const char *record, const char *domain, struct dmarceval_record *r,
		const char **why)
{
	DMARC_POLICY_T *pctx;
	OPENDMARC_STATUS_T st;

	memset(r, 0, sizeof(*r));
	if ((pctx = opendmarc_policy_connect_init((u_char *) "0.0.0.0", 0)) == NULL)
		return -1;
	st = opendmarc_policy_store_dmarc(pctx, (u_char *) record, (u_char *) domain, NULL);
	if (st == DMARC_PARSE_ERROR_NO_ALLOC) {
		opendmarc_policy_connect_shutdown(pctx);
		return -1;
	}
	if (st == DMARC_PARSE_OKAY)
		fetch(pctx, r);
	opendmarc_policy_connect_shutdown(pctx);
	*why = st == DMARC_PARSE_OKAY ? NULL
	    : st == DMARC_PARSE_ERROR_NO_REQUIRED_P ? "DMARC record without p="
	    : "malformed DMARC record";
	return st == DMARC_PARSE_OKAY;
}

/* aligned_pass - an aligned SPF or DKIM pass; *retry: an aligned temperror */
static int
aligned_pass(const psl_ctx_t *psl, const char *from, const struct dmarceval_record *r,
	     const struct dmarceval_auth *a, int *retry)
{
	int	spf_al = dmarceval_aligned(psl, from, a->spf_domain, r->aspf_strict);
	unsigned i;

	*retry = spf_al && a->spf_temperror;
	if (spf_al && a->spf_pass)
		return 1;
	for (i = 0; i < a->ndkim; i++) {
		if (!dmarceval_aligned(psl, from, a->dkim[i].d, r->adkim_strict))
			continue;
		if (a->dkim[i].pass)
			return 1;
		*retry |= a->dkim[i].temperror;
	}
	return 0;
}

/* milder - the next milder policy (pct not sampled) */
static enum dmarceval_policy
milder(enum dmarceval_policy p)
{
	return p == DP_REJECT ? DP_QUARANTINE : DP_NONE;
}

/* dmarceval_decide - the result for a record; roll is 0..99, random */
void
dmarceval_decide(const psl_ctx_t *psl, const struct dmarceval_record *r, int at_org,
		 const struct dmarceval_auth *a, unsigned roll, struct dmarceval_out *out)
{
	int	retry;

	out->has_policy = 1;
	out->sp_applied = at_org && r->has_sp;
	out->policy = at_org ? r->sp : r->p;
	out->pct = r->pct;
	out->effective = roll < (unsigned) r->pct ? out->policy : milder(out->policy);
	if (aligned_pass(psl, out->from, r, a, &retry)) {
		out->result = DR_PASS;
	} else if (retry && out->policy != DP_NONE) {
		out->result = DR_TEMPERROR;
		out->why = "aligned check had a temporary error";
	} else {
		out->result = DR_FAIL;
	}
}

/* discover - the DMARC record of one domain: 1, 0 none, -1 perm, -2 temp */
static int
discover(struct dns_resolver *dns, const char *domain, char *buf, size_t buflen,
	 const char **record, const char **why)
{
	char	name[300];
	unsigned nrec = 0;
	int	rc;

	if (strlen(domain) + sizeof("_dmarc.") > 254)
		return 0;		/* no such DNS name can exist */
	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	switch (dns_txt(dns, name, buf, buflen, &nrec)) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
		return 0;
	case DNS_TEMPFAIL:
		*why = "DMARC record lookup failed";
		return -2;
	default:
		*why = "DMARC record unreadable";
		return -1;
	}
	if ((rc = dmarceval_pick(buf, nrec, record)) < 0)
		*why = "several DMARC records";
	return rc;
}

/* dmarceval_run - evaluate one From domain; 0, or -1 out of memory */
int
dmarceval_run(struct dns_resolver *dns, const psl_ctx_t *psl, const char *from,
	      const struct dmarceval_auth *a, struct dmarceval_out *out)
{
	char	buf[DMARC_TXT_MAX], org[ADDR_DOMAIN_LEN];
	const char *record = NULL, *policy_domain = from;
	struct dmarceval_record r;
	int	rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->from, sizeof(out->from), "%s", from);
	rc = discover(dns, from, buf, sizeof(buf), &record, &out->why);
	dmarceval_orgdomain(psl, from, org, sizeof(org));
	if (rc == 0 && strcmp(org, from) != 0) {
		policy_domain = org;
		rc = discover(dns, org, buf, sizeof(buf), &record, &out->why);
	}
	if (rc <= 0) {
		out->result = rc == 0 ? DR_NONE : rc == -1 ? DR_PERMERROR : DR_TEMPERROR;
		return 0;
	}
	if ((rc = dmarceval_parse(record, policy_domain, &r, &out->why)) <= 0) {
		out->result = DR_PERMERROR;
		return rc;
	}
	dmarceval_decide(psl, &r, policy_domain != from, a, arc4random_uniform(100), out);
	return 0;
}

/* dmarceval_result_name - the RFC 8601 result word */
const char *
dmarceval_result_name(enum dmarceval_result r)
{
	static const char *const names[] = {"none", "pass", "fail", "temperror", "permerror"};

	return (unsigned) r < 5 ? names[r] : "permerror";
}

/* dmarceval_policy_name - none, quarantine, reject */
const char *
dmarceval_policy_name(enum dmarceval_policy p)
{
	return p == DP_REJECT ? "reject" : p == DP_QUARANTINE ? "quarantine" : "none";
}
