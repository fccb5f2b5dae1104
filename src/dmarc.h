/*
 * NAME
 *	dmarc.h - DMARC evaluation (RFC 7489) of one From domain
 * SYNOPSIS
 *	#include "dmarc.h"
 * DESCRIPTION
 *	See dmarc.c.
 */
#ifndef MW_DMARC_H
#define MW_DMARC_H

#include <stddef.h>
#include <libpsl.h>

struct dns_resolver;

enum dmarceval_policy {
	DP_NONE = 0,
	DP_QUARANTINE,
	DP_REJECT,
};

enum dmarceval_result {
	DR_NONE = 0,			/* no policy published */
	DR_PASS,
	DR_FAIL,
	DR_TEMPERROR,
	DR_PERMERROR,
};

/* A policy record, as libopendmarc read it. */
struct dmarceval_record {
	enum dmarceval_policy p, sp;	/* sp is p when the record has none */
	int	has_sp;
	int	pct;			/* 0..100 */
	int	adkim_strict, aspf_strict;
};

/* The authenticated identifiers of a message. */
struct dmarceval_dkim {
	const char *d;			/* d= domain; "" when unusable */
	int	pass;
	int	temperror;
};

struct dmarceval_auth {
	const char *spf_domain;		/* MAIL FROM domain (HELO for <>); "" none */
	int	spf_pass;
	int	spf_temperror;
	const struct dmarceval_dkim *dkim;
	unsigned ndkim;
};

struct dmarceval_out {
	enum dmarceval_result result;
	char	from[254];		/* the From domain */
	int	has_policy;		/* a record was found and read */
	int	sp_applied;		/* found at the organizational domain */
	enum dmarceval_policy policy;	/* p, or sp, as published */
	enum dmarceval_policy effective;/* after pct: what a failure calls for */
	int	pct;
	const char *why;		/* temperror, permerror: our words */
};

int	dmarceval_psl_load(const char *path, psl_ctx_t **out, char *err, size_t errlen);
void	dmarceval_orgdomain(const psl_ctx_t *, const char *domain, char *out, size_t outlen);
int	dmarceval_aligned(const psl_ctx_t *, const char *from, const char *auth, int strict);

int	dmarceval_pick(const char *txt, unsigned nrec, const char **record);
int	dmarceval_parse(const char *record, const char *domain,
			struct dmarceval_record *, const char **why);
void	dmarceval_decide(const psl_ctx_t *, const struct dmarceval_record *, int at_org,
			 const struct dmarceval_auth *, unsigned roll,
			 struct dmarceval_out *);
int	dmarceval_run(struct dns_resolver *, const psl_ctx_t *, const char *from,
		      const struct dmarceval_auth *, struct dmarceval_out *);
const char *dmarceval_result_name(enum dmarceval_result);
const char *dmarceval_policy_name(enum dmarceval_policy);

#endif
