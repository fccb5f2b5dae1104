/*
 * test_dns_cache - the resolver's reply cache: TTL expiry on an injected
 * clock (-Wl,--wrap=dns_clock_now), the entry and byte bounds, LRU
 * eviction, name case folding, negative caching, threads.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <cmocka.h>

#include "dns_int.h"
#include "dnsmsg.h"

static time_t fake_now = 1000;

/* the cache's clock, replaced */
time_t	__wrap_dns_clock_now(void);
time_t
__wrap_dns_clock_now(void)
{
	return fake_now;
}

/* get - 1 hit, 0 miss, -1 too small; the reply's first byte in *first */
static int
get(struct dns_cache *c, const char *key, int type, int *first)
{
	unsigned char buf[DNS_CACHE_MAX_ANSWER];
	size_t	len = sizeof(buf);
	int	r = dns_cache_get(c, key, type, buf, &len);

	if (r == 1 && first)
		*first = buf[0];
	return r;
}

/* put - a reply of len bytes, all of value v */
static void
put(struct dns_cache *c, const char *key, int type, int v, size_t len, unsigned ttl)
{
	unsigned char buf[DNS_CACHE_MAX_ANSWER + 16];

	memset(buf, v, len);
	dns_cache_put(c, key, type, buf, len, ttl);
}

static void
test_hit_and_types(void **state)
{
	struct dns_cache *c = dns_cache_new(100);
	int	first = 0;

	(void) state;
	fake_now = 1000;
	put(c, "example.test", 16, 'T', 40, 300);
	put(c, "example.test", 1, 'A', 40, 300);
	assert_int_equal(get(c, "example.test", 16, &first), 1);
	assert_int_equal(first, 'T');
	assert_int_equal(get(c, "example.test", 1, &first), 1);
	assert_int_equal(first, 'A');
	assert_int_equal(get(c, "example.test", 28, NULL), 0);
	assert_int_equal(get(c, "other.test", 16, NULL), 0);
	put(c, "example.test", 16, 'U', 40, 300);	/* replaces */
	assert_int_equal(get(c, "example.test", 16, &first), 1);
	assert_int_equal(first, 'U');
	assert_int_equal(dns_cache_count(c), 2);
	dns_cache_free(c);
}

static void
test_ttl_expiry(void **state)
{
	struct dns_cache *c = dns_cache_new(100);

	(void) state;
	fake_now = 1000;
	put(c, "a.test", 16, 'x', 40, 60);
	put(c, "zero.test", 16, 'x', 40, 0);	/* TTL 0: never kept */
	assert_int_equal(get(c, "zero.test", 16, NULL), 0);
	fake_now = 1059;
	assert_int_equal(get(c, "a.test", 16, NULL), 1);
	fake_now = 1060;
	assert_int_equal(get(c, "a.test", 16, NULL), 0);
	assert_int_equal(dns_cache_count(c), 0);	/* dropped when met */
	dns_cache_free(c);
}

static void
test_case_folding(void **state)
{
	struct dns_cache *c = dns_cache_new(100);
	char	k1[DNS_MAX_NAME + 1], k2[DNS_MAX_NAME + 1], k3[DNS_MAX_NAME + 1];

	(void) state;
	fake_now = 1000;
	assert_int_equal(dns_wire_key("Sel1._DomainKey.EXAMPLE.test.", k1, sizeof(k1)), 0);
	assert_string_equal(k1, "sel1._domainkey.example.test");
	assert_int_equal(dns_wire_key("sel1._domainkey.example.test", k2, sizeof(k2)), 0);
	assert_int_equal(dns_wire_key("SEL1._DOMAINKEY.EXAMPLE.TEST", k3, sizeof(k3)), 0);
	put(c, k1, 16, 'k', 40, 300);
	assert_int_equal(get(c, k2, 16, NULL), 1);
	assert_int_equal(get(c, k3, 16, NULL), 1);
	dns_cache_free(c);
}

static void
test_entry_bound_lru(void **state)
{
	struct dns_cache *c = dns_cache_new(10);
	char	key[32];
	int	i;

	(void) state;
	fake_now = 1000;
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "n%d.test", i);
		put(c, key, 16, i, 40, 300);
	}
	assert_int_equal(get(c, "n0.test", 16, NULL), 1);	/* n0 is now recent */
	for (i = 10; i < 19; i++) {
		snprintf(key, sizeof(key), "n%d.test", i);
		put(c, key, 16, i, 40, 300);
		assert_true(dns_cache_count(c) <= 10);
	}
	assert_int_equal(dns_cache_count(c), 10);
	assert_int_equal(get(c, "n1.test", 16, NULL), 0);	/* least recently used went */
	assert_int_equal(get(c, "n9.test", 16, NULL), 0);
	assert_int_equal(get(c, "n0.test", 16, NULL), 1);	/* used: kept */
	assert_int_equal(get(c, "n18.test", 16, NULL), 1);
	assert_int_equal(get(c, "n10.test", 16, NULL), 1);
	dns_cache_free(c);
}

static void
test_sharded_bound(void **state)
{
	struct dns_cache *c = dns_cache_new(2000);
	char	key[32];
	int	i, hits = 0;

	(void) state;
	fake_now = 1000;
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "host%d.example.test", i);
		put(c, key, 1, 1, 30, 300);
	}
	assert_true(dns_cache_count(c) <= 2000);
	assert_true(dns_cache_count(c) >= 1900);	/* shards fill evenly */
	for (i = 9900; i < 10000; i++) {
		snprintf(key, sizeof(key), "host%d.example.test", i);
		hits += get(c, key, 1, NULL);
	}
	assert_int_equal(hits, 100);			/* the newest are there */
	dns_cache_free(c);
}

static void
test_byte_bound(void **state)
{
	struct dns_cache *c = dns_cache_new(4);	/* 4 KB + one 8 KB reply */
	unsigned char small[8];
	size_t	len = sizeof(small);

	(void) state;
	fake_now = 1000;
	put(c, "huge.test", 16, 'h', DNS_CACHE_MAX_ANSWER + 1, 300);
	assert_int_equal(get(c, "huge.test", 16, NULL), 0);	/* too large to keep */
	put(c, "big1.test", 16, '1', 8000, 300);
	put(c, "big2.test", 16, '2', 8000, 300);
	assert_int_equal(dns_cache_count(c), 1);
	assert_int_equal(get(c, "big1.test", 16, NULL), 0);
	assert_int_equal(get(c, "big2.test", 16, NULL), 1);
	/* a reply larger than the caller's buffer is refused, with its size */
	assert_int_equal(dns_cache_get(c, "big2.test", 16, small, &len), -1);
	assert_int_equal(len, 8000);
	dns_cache_free(c);
}

/* a hand-made NXDOMAIN: SOA TTL 300, MINIMUM 60 */
static void
nxdomain(struct dnsmsg *m)
{
	dnsmsg_hdr(m, 7, DNSMSG_QR | DNSMSG_AA | 3, 1, 0, 1, 0);
	dnsmsg_q(m, "nx.example.test", 16);
	dnsmsg_soa(m, "example.test", 300, 60);
}

static void
test_negative(void **state)
{
	struct dns_cache *c = dns_cache_new(100);
	struct dnsmsg m;
	unsigned char buf[512];
	size_t	len = sizeof(buf);
	unsigned ttl;

	(void) state;
	fake_now = 1000;
	nxdomain(&m);
	ttl = dns_wire_ttl(m.b, m.n);
	assert_int_equal(ttl, 60);			/* RFC 2308: min(SOA TTL, MINIMUM) */
	dns_cache_put(c, "nx.example.test", 16, m.b, m.n, ttl);
	assert_int_equal(dns_cache_get(c, "nx.example.test", 16, buf, &len), 1);
	assert_int_equal(len, m.n);
	assert_int_equal(dns_wire_rcode(buf, len), 3);
	fake_now = 1060;
	len = sizeof(buf);
	assert_int_equal(dns_cache_get(c, "nx.example.test", 16, buf, &len), 0);
	dns_cache_free(c);
}

static void
test_no_cache(void **state)
{
	(void) state;
	assert_null(dns_cache_new(0));
	assert_int_equal(dns_cache_count(NULL), 0);
	dns_cache_free(NULL);
}

/* worker - puts and gets on a shared cache */
static void *
worker(void *arg)
{
	struct dns_cache *c = arg;
	char	key[32];
	unsigned i, seed = (unsigned) (uintptr_t) &key;

	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "t%u.test", rand_r(&seed) % 500);
		if (i % 3 == 0)
			put(c, key, 16, 't', 100 + i % 200, 300);
		else
			(void) get(c, key, 16, NULL);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct dns_cache *c = dns_cache_new(1024);
	pthread_t t[4];
	int	i;

	(void) state;
	fake_now = 1000;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, c), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_true(dns_cache_count(c) <= 500);
	dns_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_types),
		cmocka_unit_test(test_ttl_expiry),
		cmocka_unit_test(test_case_folding),
		cmocka_unit_test(test_entry_bound_lru),
		cmocka_unit_test(test_sharded_bound),
		cmocka_unit_test(test_byte_bound),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_no_cache),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
