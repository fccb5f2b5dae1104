/*
 * NAME
 *	keygen.h - DKIM key pairs and their DNS records
 * SYNOPSIS
 *	#include "keygen.h"
 * DESCRIPTION
 *	keygen_make() makes an RSA or Ed25519 key pair, keygen_write() stores
 *	its private half in a new file only its owner can read, and
 *	keygen_record() writes the selector's TXT record in zone-file form,
 *	the value split into strings of at most 255 bytes.
 */
#ifndef MW_KEYGEN_H
#define MW_KEYGEN_H

#include <stdio.h>

#include "keys.h"

#define KEYGEN_RSA_BITS	2048		/* default RSA size */

int	keygen_make(struct keys_key *, enum keys_type, unsigned bits,
		    char *err, size_t errlen);
int	keygen_write(const struct keys_key *, const char *file, char *err,
		     size_t errlen);
/* "v=DKIM1; k=...; p=..." */
int	keygen_txt(const struct keys_key *, char *out, size_t outlen);
void	keygen_record(FILE *, const char *selector, const char *domain,
		      const char *txt);

#endif
