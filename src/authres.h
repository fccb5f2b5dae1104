/*
 * NAME
 *	authres.h - the Authentication-Results header (RFC 8601)
 * SYNOPSIS
 *	#include "authres.h"
 * DESCRIPTION
 *	Builds one header value, one result per folded line:
 *
 *	    mx.example.com;
 *		spf=pass smtp.mailfrom=alice@example.com;
 *		dkim=pass header.d=example.com header.s=sel1 header.b="AbC/dE+f"
 *
 *	and reads the authserv-id of a header found in a message, to tell
 *	ours (forged, to be removed) from others'.
 */
#ifndef MW_AUTHRES_H
#define MW_AUTHRES_H

#include <stddef.h>

#define AUTHRES_MAX	65536		/* bound of one header value */

struct authres {
	char   *buf;
	size_t	len, size;
	unsigned nresults;
	int	error;			/* out of memory or over AUTHRES_MAX */
};

void	authres_begin(struct authres *, const char *authserv_id);
void	authres_result(struct authres *, const char *method, const char *result,
		       const char *comment);
void	authres_prop(struct authres *, const char *ptype_prop, const char *value);
void	authres_prop_addr(struct authres *, const char *ptype_prop,
			  const char *address);
const char *authres_finish(struct authres *);
void	authres_put(struct authres *, const char *text);
void	authres_put_value(struct authres *, const char *value);
const char *authres_text(struct authres *);
void	authres_free(struct authres *);

int	authres_authserv_id(const char *value, char *out, size_t outlen);
int	authres_is_ours(const char *value, const char *authserv_id);

#endif
