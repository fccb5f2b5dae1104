/*
 * NAME
 *	keys.h - DKIM private keys: loading, checking, public halves
 * SYNOPSIS
 *	#include "keys.h"
 * DESCRIPTION
 *	keys_load() reads one private key file once (at configuration load),
 *	refuses it when it is unsafe or unusable, detects RSA or Ed25519, and
 *	keeps the parsed key plus the canonical PEM text libopendkim is given
 *	(registered with keycache, so libopendkim never parses it again).
 *	keys_public_b64() and keys_match_dns() serve key generation and the
 *	check of the published DNS records.
 */
#ifndef MW_KEYS_H
#define MW_KEYS_H

#include <stddef.h>
#include <sys/types.h>

#define KEYS_MAX_FILE	65536		/* a key file larger than this is refused */
#define KEYS_MIN_RSA	1024		/* RFC 8301 */
#define KEYS_MAX_RSA	8192

enum keys_type {
	KEYS_RSA = 1,
	KEYS_ED25519,
};

struct evp_pkey_st;
struct keycache_entry;

/* Who must be able to read the key after privileges are dropped. */
struct keys_owner {
	int	check;			/* 0: no check (not root, or no user) */
	uid_t	uid;
	gid_t	gid;
	const char *user;		/* for the message */
};

struct keys_key {
	char   *file;
	char   *selector;
	char   *domain;			/* d=; NULL: the From domain ('%') */
	enum keys_type type;
	unsigned bits;			/* RSA modulus bits; 256 for Ed25519 */
	char   *pem;			/* canonical PKCS#8 PEM, for dkim_sign() */
	size_t	pemlen;
	struct evp_pkey_st *pkey;
	struct keycache_entry *cache;
};

int	keys_load(struct keys_key *, const char *file, int require_safe,
		  const struct keys_owner *, char *err, size_t errlen);
void	keys_clear(struct keys_key *);
int	keys_from_pkey(struct keys_key *, struct evp_pkey_st *, char *err,
		       size_t errlen);

const char *keys_type_name(enum keys_type);	/* "rsa", "ed25519" */
const char *keys_alg_name(enum keys_type);	/* "rsa-sha256", ... */

/* p= of the DNS record, base64; -1 when it does not fit */
int	keys_public_b64(const struct keys_key *, char *out, size_t outlen);

/* base64 text (white space ignored) to bytes: the length, or -1 */
int	keys_b64_decode(const char *in, unsigned char *out, size_t outlen);

/* Does a DNS record's decoded p= hold this key's public half? 1, 0 */
int	keys_match_public(const struct keys_key *, const unsigned char *der,
			  size_t len);

#endif
