/*
 * NAME
 *	keycache.c - private keys parsed once, handed to libopendkim
 * DESCRIPTION
 *	libopendkim has no interface to sign with a key object: dkim_sign()
 *	takes PEM text and, for each message, dkim_eom() parses it with
 *	PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) from a memory BIO.
 *	Measured on OpenSSL 3.0 that parse (decoder set-up, base64, ASN.1,
 *	RSA blinding set-up on first use) costs more than the signature
 *	itself, for RSA as for Ed25519.
 *
 *	This module defines PEM_read_bio_PrivateKey() in the program; the
 *	dynamic linker binds libopendkim's call to it (the same interposition
 *	main.c uses for sigwait()). When the memory BIO holds exactly the PEM
 *	text of a key registered here, the already parsed EVP_PKEY is returned
 *	with one more reference, which libopendkim frees as it would its own.
 *	Any other call goes to PEM_read_bio_PrivateKey_ex(), which is what
 *	OpenSSL's own PEM_read_bio_PrivateKey() does: callers see no change.
 *	If the interposition ever did not take, libopendkim would parse the
 *	same text itself: slower, never different.
 *
 *	The registry is the one process-wide table of this module (libopendkim
 *	gives no context to the call): keys are added when a configuration
 *	snapshot loads and removed when it is freed, under a rwlock.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "keycache.h"

#define KEYCACHE_BUCKETS 256

struct keycache_entry {
	uint64_t hash;
	char   *pem;
	size_t	len;
	EVP_PKEY *pkey;
	struct keycache_entry *next;
};

static pthread_rwlock_t keycache_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct keycache_entry *keycache_table[KEYCACHE_BUCKETS];
static unsigned long keycache_nhits;
static __thread EVP_PKEY *keycache_last;	/* see keycache_lent() */

/* keycache_hash - FNV-1a of the PEM text */
static uint64_t
keycache_hash(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len--) {
		h ^= (unsigned char) *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* keycache_add - register a parsed key under its PEM text */
struct keycache_entry *
keycache_add(const char *pem, size_t len, EVP_PKEY *pkey)
{
	struct keycache_entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL || (e->pem = malloc(len)) == NULL) {
		free(e);
		return NULL;
	}
	memcpy(e->pem, pem, len);
	e->len = len;
	e->hash = keycache_hash(pem, len);
	e->pkey = pkey;
	EVP_PKEY_up_ref(pkey);
	pthread_rwlock_wrlock(&keycache_lock);
	e->next = keycache_table[e->hash % KEYCACHE_BUCKETS];
	keycache_table[e->hash % KEYCACHE_BUCKETS] = e;
	pthread_rwlock_unlock(&keycache_lock);
	return e;
}

/* keycache_remove - unregister and free an entry; NULL is fine */
void
keycache_remove(struct keycache_entry *e)
{
	struct keycache_entry **pp;

	if (e == NULL)
		return;
	pthread_rwlock_wrlock(&keycache_lock);
	for (pp = &keycache_table[e->hash % KEYCACHE_BUCKETS]; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	pthread_rwlock_unlock(&keycache_lock);
	OPENSSL_cleanse(e->pem, e->len);
	free(e->pem);
	EVP_PKEY_free(e->pkey);
	free(e);
}

/* keycache_find - the key registered under this text, with a reference */
static EVP_PKEY *
keycache_find(const char *pem, size_t len)
{
	struct keycache_entry *e;
	EVP_PKEY *found = NULL;
	uint64_t h = keycache_hash(pem, len);

	pthread_rwlock_rdlock(&keycache_lock);
	for (e = keycache_table[h % KEYCACHE_BUCKETS]; e; e = e->next)
		if (e->hash == h && e->len == len && memcmp(e->pem, pem, len) == 0) {
			if (EVP_PKEY_up_ref(e->pkey) == 1)
				found = e->pkey;
			break;
		}
	pthread_rwlock_unlock(&keycache_lock);
	if (found)
		__atomic_add_fetch(&keycache_nhits, 1, __ATOMIC_RELAXED);
	return found;
}

/* keycache_lent - the key last handed out on this thread; cleared */
EVP_PKEY *
keycache_lent(void)
{
	EVP_PKEY *k = keycache_last;

	keycache_last = NULL;
	return k;
}

/* keycache_hits - lookups answered from the cache */
unsigned long
keycache_hits(void)
{
	return __atomic_load_n(&keycache_nhits, __ATOMIC_RELAXED);
}

/*
 * PEM_read_bio_PrivateKey - OpenSSL's function, answered from the cache
 * for a memory BIO holding a registered key's text (libopendkim's call).
 */
EVP_PKEY *
PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, pem_password_cb *cb, void *u)
{
	char   *data;
	long	len;
	EVP_PKEY *k;

	if (x == NULL && cb == NULL && bp != NULL
	    && BIO_method_type(bp) == BIO_TYPE_MEM
	    && (len = BIO_get_mem_data(bp, &data)) > 0
	    && (k = keycache_find(data, (size_t) len)) != NULL)
		return keycache_last = k;
	return PEM_read_bio_PrivateKey_ex(bp, x, cb, u, NULL, NULL);
}
