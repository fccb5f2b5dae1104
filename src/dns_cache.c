/*
 * NAME
 *	dns_cache.c - raw DNS replies kept for their TTL
 * SYNOPSIS
 *	#include "dns_int.h"
 * DESCRIPTION
 *	Replies are keyed by (lower-case name, type) and kept until the TTL
 *	the caller computed (dns_wire_ttl()) runs out on the monotonic clock
 *	(dns_clock_now()). The cache is bounded twice: by the configured
 *	number of entries, and by that number times 1 KB of reply bytes
 *	(a reply over 8 KB is not kept), so a flood of large answers cannot
 *	grow the process. When a bound is reached the least recently used
 *	entry goes; an expired entry goes as soon as a lookup meets it.
 *
 *	The table is split in shards (16, or 1 for small caches), each a
 *	hash table with its own mutex and its own LRU list, so milter threads
 *	rarely wait on each other. Lookups are O(1): the hash is FNV-1a over
 *	the key and type with a per-process random seed, chains are short
 *	(at least one bucket per two entries), and a chain can never be
 *	longer than its shard's entry bound.
 *
 *	A hit copies the reply into the caller's buffer under the shard's
 *	lock; the TTLs inside it are those of the original reply.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_int.h"

#define CACHE_SHARDS	16		/* for caches of at least 1024 entries */

struct cache_entry {
	struct cache_entry *hnext;	/* hash chain */
	struct cache_entry *prev, *next;	/* LRU list, oldest first */
	uint64_t hash;
	time_t	expires;
	int	type;
	size_t	anslen;
	unsigned char *ans;		/* after the key, same allocation */
	char	key[];
};

struct cache_shard {
	pthread_mutex_t lock;
	struct cache_entry **bucket;
	size_t	nbucket;		/* a power of two */
	struct cache_entry *oldest, *newest;
	unsigned count, cap;
	size_t	bytes, maxbytes;
};

struct dns_cache {
	unsigned nshard;
	uint64_t seed;
	struct cache_shard shard[];
};

/* cache_hash - FNV-1a over key and type, seeded */
static uint64_t
cache_hash(const struct dns_cache *c, const char *key, int type)
{
	uint64_t h = 1469598103934665603ULL ^ c->seed;
	const unsigned char *p;

	for (p = (const unsigned char *) key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ (unsigned) (type & 0xff)) * 1099511628211ULL;
	h = (h ^ (unsigned) ((type >> 8) & 0xff)) * 1099511628211ULL;
	return h ^ (h >> 29);
}

/* shard_init - one shard for cap entries; -1 out of memory */
static int
shard_init(struct cache_shard *s, unsigned cap)
{
	s->cap = cap;
	s->maxbytes = (size_t) cap * DNS_CACHE_AVG_BYTES + DNS_CACHE_MAX_ANSWER;
	for (s->nbucket = 8; s->nbucket * 2 < cap; s->nbucket *= 2)
		;
	if ((s->bucket = calloc(s->nbucket, sizeof(*s->bucket))) == NULL)
		return -1;
	pthread_mutex_init(&s->lock, NULL);
	return 0;
}

/* dns_cache_new - a cache of at most entries replies; NULL for 0 or no memory */
struct dns_cache *
dns_cache_new(unsigned entries)
{
	struct dns_cache *c;
	unsigned i, n = entries >= 1024 ? CACHE_SHARDS : 1;

	if (entries == 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c) + n * sizeof(c->shard[0]))) == NULL)
		return NULL;
	c->nshard = n;
	arc4random_buf(&c->seed, sizeof(c->seed));
	for (i = 0; i < n; i++)
		if (shard_init(&c->shard[i], entries / n + (i < entries % n)) < 0) {
			c->nshard = i;
			dns_cache_free(c);
			return NULL;
		}
	return c;
}

/* dns_cache_free - release the cache and every entry; NULL is fine */
void
dns_cache_free(struct dns_cache *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nshard; i++) {
		struct cache_entry *e, *next;

		for (e = c->shard[i].oldest; e; e = next) {
			next = e->next;
			free(e);
		}
		free(c->shard[i].bucket);
		pthread_mutex_destroy(&c->shard[i].lock);
	}
	free(c);
}

/* shard_of - the shard of a hash */
static struct cache_shard *
shard_of(struct dns_cache *c, uint64_t h)
{
	return &c->shard[(h >> 40) & (c->nshard - 1)];
}

/* lru_unlink - take an entry off the LRU list */
static void
lru_unlink(struct cache_shard *s, struct cache_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		s->oldest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		s->newest = e->prev;
	e->prev = e->next = NULL;
}

/* lru_append - make an entry the newest */
static void
lru_append(struct cache_shard *s, struct cache_entry *e)
{
	e->prev = s->newest;
	e->next = NULL;
	if (s->newest)
		s->newest->next = e;
	else
		s->oldest = e;
	s->newest = e;
}

/* shard_find - the entry of (key, type) and the link that points at it */
static struct cache_entry **
shard_find(struct cache_shard *s, uint64_t h, const char *key, int type)
{
	struct cache_entry **pp = &s->bucket[h & (s->nbucket - 1)];

	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->hash == h && (*pp)->type == type && strcmp((*pp)->key, key) == 0)
			return pp;
	return pp;
}

/* shard_remove - unlink and free the entry *pp points at */
static void
shard_remove(struct cache_shard *s, struct cache_entry **pp)
{
	struct cache_entry *e = *pp;

	*pp = e->hnext;
	lru_unlink(s, e);
	s->count--;
	s->bytes -= e->anslen;
	free(e);
}

/* shard_evict - drop the least recently used entry */
static void
shard_evict(struct cache_shard *s)
{
	struct cache_entry *e = s->oldest;

	shard_remove(s, shard_find(s, e->hash, e->key, e->type));
}

/*
 * dns_cache_get - a live reply of (key, type) into ans: 1 hit, 0 miss,
 * -1 when it does not fit (*anslen is then the size it needs)
 */
int
dns_cache_get(struct dns_cache *c, const char *key, int type,
	      unsigned char *ans, size_t *anslen)
{
	uint64_t h = cache_hash(c, key, type);
	struct cache_shard *s = shard_of(c, h);
	struct cache_entry **pp, *e;
	int	r = 0;

	pthread_mutex_lock(&s->lock);
	pp = shard_find(s, h, key, type);
	if ((e = *pp) != NULL && e->expires <= dns_clock_now()) {
		shard_remove(s, pp);
		e = NULL;
	}
	if (e != NULL) {
		r = e->anslen <= *anslen ? 1 : -1;
		if (r == 1)
			memcpy(ans, e->ans, e->anslen);
		*anslen = e->anslen;
		lru_unlink(s, e);
		lru_append(s, e);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* entry_new - an entry holding a copy of key and reply */
static struct cache_entry *
entry_new(uint64_t h, const char *key, int type, const unsigned char *ans,
	  size_t len, unsigned ttl)
{
	size_t	klen = strlen(key) + 1;
	struct cache_entry *e = malloc(sizeof(*e) + klen + len);

	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->type = type;
	e->expires = dns_clock_now() + (time_t) ttl;
	memcpy(e->key, key, klen);
	e->ans = (unsigned char *) e->key + klen;
	memcpy(e->ans, ans, len);
	e->anslen = len;
	return e;
}

/* dns_cache_put - keep a reply for ttl seconds (0: not at all) */
void
dns_cache_put(struct dns_cache *c, const char *key, int type,
	      const unsigned char *ans, size_t len, unsigned ttl)
{
	uint64_t h = cache_hash(c, key, type);
	struct cache_shard *s = shard_of(c, h);
	struct cache_entry *e, **pp;

	if (ttl == 0 || len > DNS_CACHE_MAX_ANSWER
	    || (e = entry_new(h, key, type, ans, len, ttl)) == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	if (*(pp = shard_find(s, h, key, type)) != NULL)
		shard_remove(s, pp);
	while (s->oldest && (s->count >= s->cap || s->bytes + len > s->maxbytes))
		shard_evict(s);
	pp = &s->bucket[h & (s->nbucket - 1)];
	e->hnext = *pp;
	*pp = e;
	lru_append(s, e);
	s->count++;
	s->bytes += len;
	pthread_mutex_unlock(&s->lock);
}

/* dns_cache_count - entries held now (expired ones not yet dropped included) */
unsigned
dns_cache_count(struct dns_cache *c)
{
	unsigned i, n = 0;

	if (c == NULL)
		return 0;
	for (i = 0; i < c->nshard; i++) {
		pthread_mutex_lock(&c->shard[i].lock);
		n += c->shard[i].count;
		pthread_mutex_unlock(&c->shard[i].lock);
	}
	return n;
}
