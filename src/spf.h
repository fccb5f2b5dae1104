/*
 * NAME
 *	spf.h - SPF checks (RFC 7208) with libspf2
 * SYNOPSIS
 *	#include "spf.h"
 * DESCRIPTION
 *	One struct spfcheck per config snapshot (a libspf2 server over the
 *	project's resolver); spfcheck_run() checks one identity of one
 *	message. See spf.c.
 */
#ifndef MW_SPF_H
#define MW_SPF_H

#include <stddef.h>
#include <sys/socket.h>

struct dns_resolver;
struct spfcheck;

enum spfcheck_result {
	SPFR_NONE = 0,
	SPFR_NEUTRAL,
	SPFR_PASS,
	SPFR_FAIL,
	SPFR_SOFTFAIL,
	SPFR_TEMPERROR,
	SPFR_PERMERROR,
};

#define SPF_MAX_TERMS	10		/* RFC 7208 4.6.4 */
#define SPF_MAX_VOIDS	2
#define SPF_MAX_MACRO_TERM 128		/* see spf.c: libspf2's compiler */

/* The guard in front of libspf2's compiler (CVE-2023-42118); 1: refuse. */
int	spfcheck_term_too_long(const char *);

struct spfcheck_out {
	enum spfcheck_result result;
	char	domain[254];		/* the domain checked ("" if none) */
	char	why[96];		/* our comment for the header, or "" */
	unsigned terms, voids;		/* DNS terms and void lookups counted */
};

struct spfcheck *spfcheck_new(struct dns_resolver *, const char *receiver,
			      char *err, size_t errlen);
void	spfcheck_free(struct spfcheck *);
int	spfcheck_run(struct spfcheck *, const struct sockaddr *client,
		     const char *helo, const char *sender,
		     struct spfcheck_out *, char *err, size_t errlen);
const char *spfcheck_name(enum spfcheck_result);

#endif
