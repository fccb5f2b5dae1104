/*
 * NAME
 *	signtab.c - which keys sign mail from which From address
 * DESCRIPTION
 *	A chained hash table of patterns (see signtab.h), so that a hosting
 *	setup with tens of thousands of SigningTable lines still costs a few
 *	hash probes per message. Patterns and lookups are lower case: domains
 *	are case-insensitive, and OpenDKIM matches its SigningTable without
 *	regard to case.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signtab.h"

#define SIGNTAB_BUCKETS 1024

struct signtab {
	struct signtab_entry *bucket[SIGNTAB_BUCKETS];
	struct keys_key **keys;		/* owned */
	unsigned nkeys, capkeys;
	const struct signtab_entry *fallback;
};

/* signtab_hash - FNV-1a of a lower-case string */
static unsigned
signtab_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char) *s;
		h *= 16777619u;
	}
	return h % SIGNTAB_BUCKETS;
}

/* signtab_lower - bounded lower-case copy; -1 when it does not fit */
static int
signtab_lower(char *dst, size_t len, const char *src)
{
	size_t	i;

	for (i = 0; src[i]; i++) {
		if (i + 1 >= len)
			return -1;
		dst[i] = (char) tolower((unsigned char) src[i]);
	}
	dst[i] = 0;
	return 0;
}

/* signtab_new - an empty table */
struct signtab *
signtab_new(void)
{
	return calloc(1, sizeof(struct signtab));
}

/* signtab_free - the table, its entries and its keys; NULL is fine */
void
signtab_free(struct signtab *t)
{
	struct signtab_entry *e, *next;
	unsigned i;

	if (t == NULL)
		return;
	for (i = 0; i < SIGNTAB_BUCKETS; i++)
		for (e = t->bucket[i]; e; e = next) {
			next = e->next;
			free(e->pattern);
			free(e);
		}
	for (i = 0; i < t->nkeys; i++) {
		keys_clear(t->keys[i]);
		free(t->keys[i]);
	}
	free(t->keys);
	free(t);
}

/* signtab_key_new - a new key owned by the table */
struct keys_key *
signtab_key_new(struct signtab *t)
{
	struct keys_key *k;

	if (t->nkeys == t->capkeys) {
		unsigned cap = t->capkeys ? 2 * t->capkeys : 16;
		struct keys_key **v = realloc(t->keys, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		t->keys = v;
		t->capkeys = cap;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	t->keys[t->nkeys++] = k;
	return k;
}

/* signtab_find - the entry of a lower-case pattern, or NULL */
static struct signtab_entry *
signtab_find(const struct signtab *t, const char *pattern)
{
	struct signtab_entry *e;

	for (e = t->bucket[signtab_hash(pattern)]; e; e = e->next)
		if (strcmp(e->pattern, pattern) == 0)
			return e;
	return NULL;
}

/* signtab_entry_new - insert an empty entry for a lower-case pattern */
static struct signtab_entry *
signtab_entry_new(struct signtab *t, const char *pattern, const char *origin)
{
	struct signtab_entry *e;
	unsigned h = signtab_hash(pattern);

	if ((e = calloc(1, sizeof(*e))) == NULL || (e->pattern = strdup(pattern)) == NULL) {
		free(e);
		return NULL;
	}
	e->origin = origin;
	e->next = t->bucket[h];
	t->bucket[h] = e;
	return e;
}

/* signtab_add_key - one more key for an entry; -1 with err */
static int
signtab_add_key(struct signtab_entry *e, struct keys_key *k, char *err, size_t len)
{
	unsigned i;

	for (i = 0; i < e->nkey; i++) {
		if (e->key[i] == k)
			return 0;
		if (strcasecmp(e->key[i]->selector, k->selector) == 0
		    && (e->key[i]->domain == NULL) == (k->domain == NULL)
		    && (k->domain == NULL || strcasecmp(e->key[i]->domain, k->domain) == 0)) {
			snprintf(err, len, "\"%s\" has two keys with selector \"%s\" of one domain",
				 e->pattern, k->selector);
			return -1;
		}
	}
	if (e->nkey == SIGNTAB_MAX_KEYS) {
		snprintf(err, len, "\"%s\" has more than %d keys", e->pattern, SIGNTAB_MAX_KEYS);
		return -1;
	}
	e->key[e->nkey++] = k;
	return 0;
}

/* signtab_add - let pattern sign with key */
int
signtab_add(struct signtab *t, const char *pattern, struct keys_key *k,
	    const char *origin, char *err, size_t len)
{
	char	low[SIGNTAB_MAX_PATTERN];
	struct signtab_entry *e;

	if (signtab_lower(low, sizeof(low), pattern) < 0) {
		snprintf(err, len, "\"%.64s...\" is too long", pattern);
		return -1;
	}
	if ((e = signtab_find(t, low)) != NULL && strcmp(e->origin, origin) != 0) {
		snprintf(err, len, "\"%s\" is given in both the %s and the %s",
			 low, e->origin, origin);
		return -1;
	}
	if (e == NULL && (e = signtab_entry_new(t, low, origin)) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	return signtab_add_key(e, k, err, len);
}

/* signtab_set_fallback - the keys for From domains without their own */
int
signtab_set_fallback(struct signtab *t, const char *domain, char *err, size_t len)
{
	char	low[SIGNTAB_MAX_PATTERN];

	if (signtab_lower(low, sizeof(low), domain) < 0
	    || (t->fallback = signtab_find(t, low)) == NULL) {
		snprintf(err, len, "\"%s\" has no keys: give it a sign \"%s\" section "
			 "(or a SigningTable line)", domain, domain);
		return -1;
	}
	return 0;
}

/* signtab_lookup - the keys for a From domain: domain, .parents, fallback */
const struct signtab_entry *
signtab_lookup(const struct signtab *t, const char *domain, int *fallback)
{
	char	d[SIGNTAB_MAX_PATTERN];
	const struct signtab_entry *e = NULL;
	const char *p;

	*fallback = 0;
	if (signtab_lower(d, sizeof(d), domain) < 0)
		return NULL;
	if ((e = signtab_find(t, d)) != NULL)
		return e;
	for (p = strchr(d, '.'); p; p = strchr(p + 1, '.'))
		if ((e = signtab_find(t, p)) != NULL)
			return e;
	*fallback = t->fallback != NULL;
	return t->fallback;
}

/* signtab_nkeys - how many keys the table owns */
unsigned
signtab_nkeys(const struct signtab *t)
{
	return t->nkeys;
}

/* signtab_key - the i'th key the table owns */
struct keys_key *
signtab_key(const struct signtab *t, unsigned i)
{
	return i < t->nkeys ? t->keys[i] : NULL;
}
