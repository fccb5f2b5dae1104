/*
 * NAME
 *	dkim_verify.h - DKIM verification of inbound mail with libopendkim
 * SYNOPSIS
 *	#include "dkim_verify.h"
 * DESCRIPTION
 *	One struct verify_lib per config snapshot; one struct verify per
 *	signed message. See dkim_verify.c.
 */
#ifndef MW_DKIM_VERIFY_H
#define MW_DKIM_VERIFY_H

#include <stddef.h>

struct dns_resolver;
struct mw_hdr;
struct verify_lib;
struct verify;

enum verify_result {
	VR_PASS = 0,
	VR_FAIL,
	VR_NEUTRAL,
	VR_POLICY,
	VR_TEMPERROR,
	VR_PERMERROR,
};

struct verify_sig {
	enum verify_result result;
	char	d[254];			/* d= as a domain, "" when unusable */
	char	s[254];			/* s= as written, "" when unusable */
	char	b[16];			/* start of b= (RFC 6008), or "" */
	const char *why;		/* our comment, or NULL */
};

struct verify_lib *verify_lib_new(struct dns_resolver *, char *err, size_t errlen);
void	verify_lib_free(struct verify_lib *);

int	verify_start(struct verify_lib *, const struct mw_hdr *hdrs, int leadspc,
		     unsigned max_sigs, const char *id, struct verify **out,
		     char *err, size_t errlen);
int	verify_body(struct verify *, const unsigned char *, size_t,
		    char *err, size_t errlen);
int	verify_finish(struct verify *, char *err, size_t errlen);
unsigned verify_count(const struct verify *);
const struct verify_sig *verify_sig(const struct verify *, unsigned);
void	verify_free(struct verify *);
const char *verify_name(enum verify_result);
int	verify_tag(const char *value, const char *tag, char *out, size_t outlen);

#endif
