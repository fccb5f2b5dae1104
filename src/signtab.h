/*
 * NAME
 *	signtab.h - which keys sign mail from which From address
 * SYNOPSIS
 *	#include "signtab.h"
 * DESCRIPTION
 *	A signing table maps patterns to up to SIGNTAB_MAX_KEYS keys (an RSA
 *	and an Ed25519 key of one domain give two signatures). Patterns are
 *	the domain ones of OpenDKIM's plain SigningTable: "domain", and
 *	".parent" for any subdomain of parent. A sign "DOMAIN" section adds
 *	"DOMAIN", and ".DOMAIN" when subdomains = yes. signtab_lookup() tries
 *	them in OpenDKIM's order: the domain itself, then each parent from the
 *	nearest; then the fallback domain's keys.
 *
 *	The table owns its keys. It is built once per configuration snapshot
 *	and read-only afterwards, so any number of threads may look it up.
 */
#ifndef MW_SIGNTAB_H
#define MW_SIGNTAB_H

#include <stddef.h>

#include "keys.h"

#define SIGNTAB_MAX_KEYS 4		/* signatures per message */
#define SIGNTAB_MAX_PATTERN 256		/* a domain, or "." and a domain */

struct signtab;

struct signtab_entry {
	char   *pattern;		/* lower case */
	const char *origin;		/* "sign section", "SigningTable" */
	struct keys_key *key[SIGNTAB_MAX_KEYS];
	unsigned nkey;
	struct signtab_entry *next;
};

struct signtab *signtab_new(void);
void	signtab_free(struct signtab *);

/* A new, empty key owned by the table; NULL when out of memory. */
struct keys_key *signtab_key_new(struct signtab *);

/* Let pattern sign with key; -1 with err (conflict, too many keys). */
int	signtab_add(struct signtab *, const char *pattern, struct keys_key *,
		    const char *origin, char *err, size_t errlen);

/* The entry whose keys sign for a domain that has none; -1 with err. */
int	signtab_set_fallback(struct signtab *, const char *domain, char *err,
			     size_t errlen);

/* Keys for a From domain, or NULL; *fallback set when those were used. */
const struct signtab_entry *signtab_lookup(const struct signtab *,
					   const char *domain, int *fallback);

/* Number of keys the table holds (for "mailwarden -K" and tests). */
unsigned signtab_nkeys(const struct signtab *);
struct keys_key *signtab_key(const struct signtab *, unsigned i);

#endif
