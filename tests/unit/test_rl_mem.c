/*
 * test_rl_mem - the in-memory store: exact under concurrent threads, all
 * or nothing across shards, bounded under a flood of distinct keys, and
 * show/reset. Time is passed in by hand, so no refill happens unless a
 * test moves it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "ratelimit.h"

#define SEC	INT64_C(1000000)
#define NOW	(INT64_C(1000) * SEC)
#define MAXK	1000000

/* req_init - a request for key with one per second and this burst */
static void
req_init(struct rl_req *q, const char *key, int64_t burst)
{
	memset(q, 0, sizeof(*q));
	q->key = key;
	q->keylen = strlen(key);
	q->interval = SEC;
	q->burst = burst;
}

/* one - decide a single key; 1 when allowed */
static int
one(struct rl_mem *mem, const char *key, int64_t burst, int64_t now, size_t maxk)
{
	struct rl_req q;

	req_init(&q, key, burst);
	assert_int_equal(rl_mem_decide(mem, &q, 1, now, maxk), 0);
	return q.allowed;
}

/* Threads hammering one key. */
struct hammer {
	struct rl_mem *mem;
	const char *k1, *k2;		/* k2: a second key in the same decision */
	int64_t	b1, b2;
	int	tries;
	int	allowed;
};

/* hammer_run - ask tries times, count the allowed ones */
static void *
hammer_run(void *arg)
{
	struct hammer *h = arg;
	struct rl_req q[2];
	int	i;

	for (i = 0; i < h->tries; i++) {
		req_init(&q[0], h->k1, h->b1);
		req_init(&q[1], h->k2 ? h->k2 : "", h->b2);
		if (rl_mem_decide(h->mem, q, h->k2 ? 2 : 1, NOW, MAXK) != 0)
			return NULL;
		if (q[0].allowed && (!h->k2 || q[1].allowed))
			h->allowed++;
	}
	return NULL;
}

/* run_threads - n threads with the same job; the total allowed */
static int
run_threads(struct hammer *proto, int n, int swap_every_other)
{
	pthread_t tid[16];
	struct hammer h[16];
	int	i, total = 0;

	for (i = 0; i < n; i++) {
		h[i] = *proto;
		if (swap_every_other && (i & 1)) {	/* opposite key order */
			h[i].k1 = proto->k2, h[i].k2 = proto->k1;
			h[i].b1 = proto->b2, h[i].b2 = proto->b1;
		}
		assert_int_equal(pthread_create(&tid[i], NULL, hammer_run, &h[i]), 0);
	}
	for (i = 0; i < n; i++) {
		pthread_join(tid[i], NULL);
		total += h[i].allowed;
	}
	return total;
}

/* N threads on one key: exactly the burst passes. */
static void
test_concurrent_one_key(void **state)
{
	struct rl_mem *mem = rl_mem_new();
	struct hammer h = {mem, "rule|hot", NULL, 2500, 0, 5000, 0};

	(void) state;
	assert_int_equal(run_threads(&h, 8, 0), 2500);
	assert_false(one(mem, "rule|hot", 2500, NOW, MAXK));
	rl_mem_free(mem);
}

/* Two keys per decision, opposite orders: no deadlock, the smaller burst
 * decides, and the other key was charged only for allowed requests. */
static void
test_concurrent_two_keys(void **state)
{
	struct rl_mem *mem = rl_mem_new();
	struct hammer h = {mem, "a|user", "b|domain", 3000, 1200, 4000, 0};
	int	i;

	(void) state;
	assert_int_equal(run_threads(&h, 8, 1), 1200);
	for (i = 0; i < 1800; i++)	/* a|user has exactly 1800 left */
		assert_true(one(mem, "a|user", 3000, NOW, MAXK));
	assert_false(one(mem, "a|user", 3000, NOW, MAXK));
	rl_mem_free(mem);
}

/* A flood of distinct keys stays within max_keys and does not free a
 * throttled key. */
static void
test_flood_bounded(void **state)
{
	struct rl_mem *mem = rl_mem_new();
	struct rl_mem_stats st;
	char	key[64];
	int	i;

	(void) state;
	for (i = 0; i < 10; i++)
		assert_true(one(mem, "rule|abuser", 10, NOW, 1000));
	assert_false(one(mem, "rule|abuser", 10, NOW, 1000));
	for (i = 0; i < 200000; i++) {
		snprintf(key, sizeof(key), "rule|flood-%d", i);
		assert_true(one(mem, key, 10, NOW, 1000));
	}
	rl_mem_stats(mem, NOW, &st);
	assert_true(st.keys <= 1000 + 64);	/* ceil(1000 / 64) per shard */
	assert_true(st.keys >= 900);
	assert_true(st.evictions >= 198000);
	assert_true(st.slots <= 64 * 64);	/* 16 a shard fit its first 64 slots */
	assert_false(one(mem, "rule|abuser", 10, NOW, 1000));	/* still throttled */
	rl_mem_free(mem);
}

/* Keys at rest are evicted before keys that still carry a count. */
static void
test_evicts_rested_first(void **state)
{
	struct rl_mem *mem = rl_mem_new();
	char	key[64];
	int	i, held = 0;

	(void) state;
	for (i = 0; i < 500; i++) {	/* busy keys, each with 100 s to rest */
		snprintf(key, sizeof(key), "r|busy-%d", i);
		while (one(mem, key, 100, NOW, 1000))
			;
	}
	for (i = 0; i < 5000; i++) {	/* keys used once, at rest 1 s later */
		snprintf(key, sizeof(key), "r|once-%d", i);
		one(mem, key, 100, NOW + SEC / 100 * i, 1000);
	}
	for (i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "r|busy-%d", i);
		held += rl_mem_get(mem, key, strlen(key)) != 0;
	}
	assert_true(held >= 490);	/* a few may share a crowded shard's sample */
	rl_mem_free(mem);
}

/* get and reset. */
static void
test_get_reset(void **state)
{
	struct rl_mem *mem = rl_mem_new();
	int64_t	tat;

	(void) state;
	assert_int_equal(rl_mem_get(mem, "x|k", 3), 0);
	assert_true(one(mem, "x|k", 2, NOW, MAXK));
	assert_true(one(mem, "x|k", 2, NOW, MAXK));
	assert_false(one(mem, "x|k", 2, NOW, MAXK));
	tat = rl_mem_get(mem, "x|k", 3);
	assert_int_equal(tat, NOW + 2 * SEC);
	assert_int_equal(rl_gcra_available(tat, NOW, SEC, 2), 0);
	assert_int_equal(rl_mem_reset(mem, "x|k", 3), 1);
	assert_int_equal(rl_mem_reset(mem, "x|k", 3), 0);
	assert_true(one(mem, "x|k", 2, NOW, MAXK));
	rl_mem_free(mem);
}

/* Deleting from the middle of collision runs keeps every other key. */
static void
test_reset_keeps_others(void **state)
{
	struct rl_mem *mem = rl_mem_new();
	char	key[64];
	int	i;

	(void) state;
	for (i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "k|%d", i);
		assert_true(one(mem, key, 1, NOW, MAXK));
	}
	for (i = 0; i < 3000; i += 2) {
		snprintf(key, sizeof(key), "k|%d", i);
		assert_int_equal(rl_mem_reset(mem, key, strlen(key)), 1);
	}
	for (i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "k|%d", i);
		assert_int_equal(one(mem, key, 1, NOW, MAXK), i % 2 == 0);
	}
	rl_mem_free(mem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_one_key),
		cmocka_unit_test(test_concurrent_two_keys),
		cmocka_unit_test(test_flood_bounded),
		cmocka_unit_test(test_evicts_rested_first),
		cmocka_unit_test(test_get_reset),
		cmocka_unit_test(test_reset_keeps_others),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
