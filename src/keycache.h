/*
 * NAME
 *	keycache.h - private keys parsed once, handed to libopendkim
 * SYNOPSIS
 *	#include "keycache.h"
 * DESCRIPTION
 *	libopendkim 2.11 takes a signing key as PEM text and parses it again
 *	for every message (dkim_privkey_load() at dkim_eom()). With OpenSSL 3
 *	that parse costs more than an RSA-2048 signature. keycache keeps the
 *	keys mailwarden has already parsed, keyed by their exact PEM text, and
 *	answers libopendkim's PEM_read_bio_PrivateKey() from it. Text that is
 *	not registered is parsed by OpenSSL as always.
 */
#ifndef MW_KEYCACHE_H
#define MW_KEYCACHE_H

#include <stddef.h>

struct keycache_entry;
struct evp_pkey_st;

/* Register a parsed key under its PEM text; NULL when out of memory. */
struct keycache_entry *keycache_add(const char *pem, size_t len,
				    struct evp_pkey_st *pkey);

/* Unregister; NULL is fine. */
void	keycache_remove(struct keycache_entry *);

/*
 * The key the cache last handed to libopendkim on this thread (with its
 * reference), or NULL; reading clears it. Lets the caller give back a
 * reference libopendkim drops without freeing (Ed25519, see dkim_sign.c).
 */
struct evp_pkey_st *keycache_lent(void);

/* Lookups answered from the cache since start (tests, benchmarks). */
unsigned long keycache_hits(void);

#endif
