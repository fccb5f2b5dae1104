/*
 * NAME
 *	rl_mem.c - the in-process rate-limit store
 * SYNOPSIS
 *	#include "ratelimit.h"
 *
 *	struct rl_mem *rl_mem_shared(void)
 *
 *	int rl_mem_decide(mem, req, n, now, max_keys)
 *
 *	int64_t rl_mem_get(mem, key, keylen)
 *
 *	int rl_mem_reset(mem, key, keylen)
 *
 *	void rl_mem_stats(mem, now, stats)
 * DESCRIPTION
 *	A hash table of keys to TATs (see rl_gcra.c), split into 64 shards,
 *	each with its own lock, so that milter threads deciding for
 *	different keys rarely wait for each other. A key is stored as its
 *	128-bit SipHash-2-4 under a random secret, not as text: every entry
 *	has the same small size (24 bytes), and a client cannot choose keys
 *	that collide or that crowd one shard. Two distinct keys share state
 *	only if their 128-bit hashes collide.
 *
 *	rl_mem_decide() decides the requests of one message or recipient
 *	(one per rule) in one step: it locks every shard involved, in
 *	ascending order (no deadlock between threads), reads the TATs,
 *	applies rl_gcra_batch() and stores the charged ones. So the answer is
 *	exact when many threads hit one key at once.
 *
 *	Memory is bounded by max_keys, given with each call from the
 *	configuration snapshot in use: a shard holds at most
 *	ceil(max_keys / 64) entries, plus at most one decision's keys in
 *	transit, and its slot array never grows past the power of two that
 *	keeps that count under a load of 3/4. To insert into a full shard,
 *	an entry is evicted: among 16 entries sampled from a random place,
 *	the one nearest to rest (smallest TAT) goes; an entry already at
 *	rest carries no information, so it goes first and at no cost.
 *	Fairness: an evicted key that was not at rest starts over with its
 *	whole burst, so under a flood of more distinct keys than max_keys a
 *	lightly used key may get a little allowance back early; a key far
 *	over its limit has the largest TAT and is the last to go, so a flood
 *	does not free a throttled sender. Entries at rest are not swept;
 *	they are reused when room is needed.
 *
 *	The daemon uses one store for the life of the process
 *	(rl_mem_shared()), so that a configuration reload keeps everyone's
 *	standing; only the rules come from the snapshot.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ratelimit.h"

#define MEM_SHARDS	64		/* a power of two */
#define MEM_SHARD_BITS	6
#define MEM_SAMPLE	16		/* entries looked at per eviction */
#define MEM_MIN_SLOTS	64

struct mem_slot {
	uint64_t h0, h1;		/* key hash; both 0: empty */
	int64_t	tat;
};

struct mem_shard {
	pthread_mutex_t lock;
	struct mem_slot *slot;
	size_t	nslots;			/* 0, or a power of two */
	size_t	count;
	uint64_t evictions;
	uint64_t rnd;			/* xorshift state for sampling */
} __attribute__((aligned(64)));

struct rl_mem {
	struct mem_shard shard[MEM_SHARDS];
	uint64_t k0, k1;		/* SipHash key */
};

/* The hashes of one decision's keys. */
struct mem_key {
	uint64_t h0, h1;
	unsigned shard;
};

/* sip_round - one SipRound on the state */
static inline void
sip_round(uint64_t v[4])
{
#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
	v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
	v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
#undef ROTL
}

/* sip_block - absorb one 64-bit word with two rounds */
static inline void
sip_block(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
}

/* sip_final - mark one word, four rounds, one output word */
static inline uint64_t
sip_final(uint64_t v[4], int word, uint64_t mark)
{
	v[word] ^= mark;
	sip_round(v);
	sip_round(v);
	sip_round(v);
	sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* mem_hash - SipHash-2-4 with 128-bit output of a key */
static void
mem_hash(const struct rl_mem *mem, const char *key, size_t len, struct mem_key *k)
{
	const unsigned char *p = (const unsigned char *) key;
	uint64_t v[4], m, last = (uint64_t) len << 56;
	size_t	i, j;

	v[0] = mem->k0 ^ UINT64_C(0x736f6d6570736575);
	v[1] = mem->k1 ^ UINT64_C(0x646f72616e646f6d) ^ 0xee;
	v[2] = mem->k0 ^ UINT64_C(0x6c7967656e657261);
	v[3] = mem->k1 ^ UINT64_C(0x7465646279746573);
	for (i = 0; i + 8 <= len; i += 8) {
		for (m = 0, j = 0; j < 8; j++)
			m |= (uint64_t) p[i + j] << (8 * j);
		sip_block(v, m);
	}
	for (j = 0; i + j < len; j++)
		last |= (uint64_t) p[i + j] << (8 * j);
	sip_block(v, last);
	k->h0 = sip_final(v, 2, 0xee);
	k->h1 = sip_final(v, 1, 0xdd);
	if (k->h0 == 0 && k->h1 == 0)
		k->h1 = 1;			/* (0, 0) marks an empty slot */
	k->shard = (unsigned) (k->h1 >> (64 - MEM_SHARD_BITS));
}

/* seed64 - 64 random bits */
static uint64_t
seed64(void)
{
	uint64_t s;

	if (getrandom(&s, sizeof(s), 0) != (ssize_t) sizeof(s))
		s = (uint64_t) time(NULL) * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t) getpid();
	return s | 1;
}

/* rl_mem_new - an empty store */
struct rl_mem *
rl_mem_new(void)
{
	struct rl_mem *mem;
	unsigned i;

	if (posix_memalign((void **) &mem, 64, sizeof(*mem)) != 0)
		return NULL;
	memset(mem, 0, sizeof(*mem));
	mem->k0 = seed64();
	mem->k1 = seed64();
	for (i = 0; i < MEM_SHARDS; i++) {
		pthread_mutex_init(&mem->shard[i].lock, NULL);
		mem->shard[i].rnd = seed64();
	}
	return mem;
}

/* rl_mem_free - release a store; NULL is fine */
void
rl_mem_free(struct rl_mem *mem)
{
	unsigned i;

	if (mem == NULL)
		return;
	for (i = 0; i < MEM_SHARDS; i++) {
		pthread_mutex_destroy(&mem->shard[i].lock);
		free(mem->shard[i].slot);
	}
	free(mem);
}

static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static struct rl_mem *shared_mem;

/* shared_init - create the process's store */
static void
shared_init(void)
{
	shared_mem = rl_mem_new();
}

/* rl_mem_shared - the process's store, created on first use; NULL: no memory */
struct rl_mem *
rl_mem_shared(void)
{
	pthread_once(&shared_once, shared_init);
	return shared_mem;
}

/* slot_empty - is this slot free? */
static inline int
slot_empty(const struct mem_slot *e)
{
	return e->h0 == 0 && e->h1 == 0;
}

/* shard_find - the slot of a key, or NULL */
static struct mem_slot *
shard_find(struct mem_shard *s, const struct mem_key *k)
{
	size_t	i, mask;

	if (s->nslots == 0)
		return NULL;
	mask = s->nslots - 1;
	for (i = k->h0 & mask;; i = (i + 1) & mask) {
		struct mem_slot *e = &s->slot[i];

		if (e->h0 == k->h0 && e->h1 == k->h1)
			return e;
		if (slot_empty(e))
			return NULL;
	}
}

/* shard_delete - empty slot i, moving later entries of its run back */
static void
shard_delete(struct mem_shard *s, size_t i)
{
	size_t	mask = s->nslots - 1, j, home;

	for (j = (i + 1) & mask; !slot_empty(&s->slot[j]); j = (j + 1) & mask) {
		home = s->slot[j].h0 & mask;
		/* Move j into the hole at i unless its home lies in (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			s->slot[i] = s->slot[j];
			i = j;
		}
	}
	memset(&s->slot[i], 0, sizeof(s->slot[i]));
	s->count--;
}

/* key_kept - is this entry one of the decision's keys? */
static int
key_kept(const struct mem_slot *e, const struct mem_key *keep, unsigned nkeep)
{
	unsigned i;

	for (i = 0; i < nkeep; i++)
		if (e->h0 == keep[i].h0 && e->h1 == keep[i].h1)
			return 1;
	return 0;
}

/* shard_evict - drop the sampled entry nearest to rest; -1 if none */
static int
shard_evict(struct mem_shard *s, int64_t now, const struct mem_key *keep, unsigned nkeep)
{
	size_t	i, mask = s->nslots - 1, n, seen = 0, victim = SIZE_MAX;
	int64_t	best = INT64_MAX;

	s->rnd ^= s->rnd << 13;
	s->rnd ^= s->rnd >> 7;
	s->rnd ^= s->rnd << 17;
	for (i = s->rnd & mask, n = 0; n < s->nslots && seen < MEM_SAMPLE;
	     n++, i = (i + 1) & mask) {
		if (slot_empty(&s->slot[i]) || key_kept(&s->slot[i], keep, nkeep))
			continue;
		seen++;
		if (s->slot[i].tat < best) {
			best = s->slot[i].tat;
			victim = i;
			if (best <= now)
				break;		/* at rest: nothing is lost */
		}
	}
	if (victim == SIZE_MAX)
		return -1;
	shard_delete(s, victim);
	s->evictions++;
	return 0;
}

/* shard_grow - double the slot array; -1 when out of memory */
static int
shard_grow(struct mem_shard *s)
{
	size_t	n = s->nslots ? s->nslots * 2 : MEM_MIN_SLOTS, i, j, mask = n - 1;
	struct mem_slot *v;

	if ((v = calloc(n, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < s->nslots; i++) {
		if (slot_empty(&s->slot[i]))
			continue;
		for (j = s->slot[i].h0 & mask; !slot_empty(&v[j]); j = (j + 1) & mask)
			;
		v[j] = s->slot[i];
	}
	free(s->slot);
	s->slot = v;
	s->nslots = n;
	return 0;
}

/* shard_insert - a new entry; room is made by eviction; -1 when out of memory */
static int
shard_insert(struct mem_shard *s, const struct mem_key *k, int64_t tat, int64_t now,
	     size_t cap, const struct mem_key *keep, unsigned nkeep)
{
	size_t	i, mask;

	while (s->count >= cap && shard_evict(s, now, keep, nkeep) == 0)
		;
	/* Full of this decision's own keys: go over cap by at most a batch. */
	if ((s->count + 1) * 4 > s->nslots * 3 && shard_grow(s) < 0)
		return -1;
	mask = s->nslots - 1;
	for (i = k->h0 & mask; !slot_empty(&s->slot[i]); i = (i + 1) & mask)
		;
	s->slot[i].h0 = k->h0;
	s->slot[i].h1 = k->h1;
	s->slot[i].tat = tat;
	s->count++;
	return 0;
}

/* lock_shards - lock the decision's shards once each, in ascending order */
static unsigned
lock_shards(struct rl_mem *mem, const struct mem_key *k, unsigned n, unsigned *order)
{
	unsigned i, j, m = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < m && order[j] != k[i].shard; j++)
			;
		if (j < m)
			continue;		/* already listed */
		for (j = m++; j > 0 && order[j - 1] > k[i].shard; j--)
			order[j] = order[j - 1];
		order[j] = k[i].shard;
	}
	for (i = 0; i < m; i++)
		pthread_mutex_lock(&mem->shard[order[i]].lock);
	return m;
}

/* unlock_shards - release what lock_shards() took */
static void
unlock_shards(struct rl_mem *mem, const unsigned *order, unsigned m)
{
	while (m-- > 0)
		pthread_mutex_unlock(&mem->shard[order[m]].lock);
}

/* mem_store - write the charged TATs back; -1 when out of memory */
static int
mem_store(struct rl_mem *mem, const struct rl_req *req, const struct mem_key *k,
	  const int64_t *tat, unsigned n, int64_t now, size_t cap)
{
	struct mem_slot *e;
	unsigned i;
	int	rc = 0;

	for (i = 0; i < n; i++) {
		if (!req[i].charged)
			continue;
		if ((e = shard_find(&mem->shard[k[i].shard], &k[i])) != NULL)
			e->tat = tat[i];
		else if (shard_insert(&mem->shard[k[i].shard], &k[i], tat[i], now, cap, k, n) < 0)
			rc = -1;
	}
	return rc;
}

/*
 * rl_mem_decide - decide n requests together (see rl_gcra_batch()); 0, or
 * -1 when a charged key could not be stored for lack of memory
 */
int
rl_mem_decide(struct rl_mem *mem, struct rl_req *req, unsigned n, int64_t now,
	      size_t max_keys)
{
	struct mem_key k[RL_MAX_BATCH];
	int64_t	tat[RL_MAX_BATCH];
	unsigned order[RL_MAX_BATCH], i, m;
	size_t	cap = (max_keys + MEM_SHARDS - 1) / MEM_SHARDS;
	struct mem_slot *e;
	int	rc;

	if (n > RL_MAX_BATCH)
		return -1;
	for (i = 0; i < n; i++)
		mem_hash(mem, req[i].key, req[i].keylen, &k[i]);
	m = lock_shards(mem, k, n, order);
	for (i = 0; i < n; i++)
		tat[i] = (e = shard_find(&mem->shard[k[i].shard], &k[i])) ? e->tat : 0;
	rl_gcra_batch(req, n, tat, now);
	rc = mem_store(mem, req, k, tat, n, now, cap ? cap : 1);
	unlock_shards(mem, order, m);
	return rc;
}

/* rl_mem_get - a key's TAT; 0 when the store has none */
int64_t
rl_mem_get(struct rl_mem *mem, const char *key, size_t keylen)
{
	struct mem_key k;
	struct mem_shard *s;
	struct mem_slot *e;
	int64_t	tat;

	mem_hash(mem, key, keylen, &k);
	s = &mem->shard[k.shard];
	pthread_mutex_lock(&s->lock);
	tat = (e = shard_find(s, &k)) ? e->tat : 0;
	pthread_mutex_unlock(&s->lock);
	return tat;
}

/* rl_mem_reset - forget a key: 1 if it was held, 0 if not */
int
rl_mem_reset(struct rl_mem *mem, const char *key, size_t keylen)
{
	struct mem_key k;
	struct mem_shard *s;
	struct mem_slot *e;

	mem_hash(mem, key, keylen, &k);
	s = &mem->shard[k.shard];
	pthread_mutex_lock(&s->lock);
	if ((e = shard_find(s, &k)) != NULL)
		shard_delete(s, (size_t) (e - s->slot));
	pthread_mutex_unlock(&s->lock);
	return e != NULL;
}

/* rl_mem_stats - counts of the whole store, one shard locked at a time */
void
rl_mem_stats(struct rl_mem *mem, int64_t now, struct rl_mem_stats *st)
{
	unsigned i;
	size_t	j;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < MEM_SHARDS; i++) {
		struct mem_shard *s = &mem->shard[i];

		pthread_mutex_lock(&s->lock);
		st->keys += s->count;
		st->slots += s->nslots;
		st->evictions += s->evictions;
		for (j = 0; j < s->nslots; j++)
			if (!slot_empty(&s->slot[j]) && s->slot[j].tat > now)
				st->live++;
		pthread_mutex_unlock(&s->lock);
	}
	st->bytes = st->slots * sizeof(struct mem_slot) + sizeof(*mem);
}
