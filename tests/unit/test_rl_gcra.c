/*
 * test_rl_gcra - the rate-limit arithmetic at its boundaries: the burst,
 * the steady rate, refusals that cost nothing, several rules at once.
 * Times are microseconds; the tests move "now" by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ratelimit.h"

#define SEC	INT64_C(1000000)

/* key - one key's state across calls */
struct key {
	int64_t	tat;
	int64_t	t, b;
};

/* ask - one request; counted when allowed, as a store does */
static int
ask(struct key *k, int64_t now)
{
	struct rl_gcra g;

	rl_gcra_eval(k->tat, now, k->t, k->b, &g);
	if (g.allowed)
		k->tat = g.tat;
	return g.allowed;
}

/* A key at rest takes exactly its burst at once. */
static void
test_burst_exact(void **state)
{
	struct key k = {0, SEC, 5};	/* 1 per second, burst 5 */
	int64_t	now = 1000 * SEC;
	int	i;

	(void) state;
	for (i = 0; i < 5; i++)
		assert_true(ask(&k, now));
	assert_false(ask(&k, now));
	assert_false(ask(&k, now + SEC - 1));	/* one microsecond short */
	assert_true(ask(&k, now + SEC));	/* exactly one interval later */
	assert_false(ask(&k, now + SEC));
}

/* After the burst, one per interval, never two at a window's edge. */
static void
test_steady_rate(void **state)
{
	struct key k = {0, 10 * SEC, 1};	/* 6 per minute, no burst */
	int64_t	now = 5 * SEC;
	int	i, n = 0;

	(void) state;
	for (i = 0; i < 600; i++)	/* ask every second for 10 minutes */
		n += ask(&k, now + i * SEC);
	assert_int_equal(n, 60);
	/* No fixed window: asking twice at 59.999 s and 60 s gives one. */
	k.tat = 0;
	assert_true(ask(&k, 59 * SEC + 999999));
	assert_false(ask(&k, 60 * SEC));
}

/* Refused requests do not push the next allowed one later. */
static void
test_refusal_free(void **state)
{
	struct key k = {0, SEC, 2};
	int64_t	now = 100 * SEC;
	int	i;

	(void) state;
	assert_true(ask(&k, now));
	assert_true(ask(&k, now));
	for (i = 0; i < 1000; i++)
		assert_false(ask(&k, now + i));
	assert_true(ask(&k, now + SEC));
}

/* remaining and retry say what the next requests will get. */
static void
test_remaining_retry(void **state)
{
	struct rl_gcra g;

	(void) state;
	rl_gcra_eval(0, 50 * SEC, 2 * SEC, 3, &g);	/* at rest */
	assert_true(g.allowed);
	assert_int_equal(g.remaining, 2);
	assert_int_equal(g.tat, 52 * SEC);
	rl_gcra_eval(54 * SEC, 50 * SEC, 2 * SEC, 3, &g);	/* 2 used */
	assert_true(g.allowed);
	assert_int_equal(g.remaining, 0);
	rl_gcra_eval(56 * SEC, 50 * SEC, 2 * SEC, 3, &g);	/* 3 used */
	assert_false(g.allowed);
	assert_int_equal(g.retry, 2 * SEC);
	assert_int_equal(rl_gcra_available(56 * SEC, 50 * SEC, 2 * SEC, 3), 0);
	assert_int_equal(rl_gcra_available(56 * SEC, 50 * SEC + 1, 2 * SEC, 3), 0);
	assert_int_equal(rl_gcra_available(56 * SEC, 52 * SEC, 2 * SEC, 3), 1);
	assert_int_equal(rl_gcra_available(0, 52 * SEC, 2 * SEC, 3), 3);
}

/* Several rules: one enforcing refusal means nothing is charged. */
static void
test_batch_all_or_nothing(void **state)
{
	struct rl_req q[3];
	int64_t	tat[3] = {0, 0, 0}, now = 10 * SEC;

	(void) state;
	memset(q, 0, sizeof(q));
	q[0].interval = SEC, q[0].burst = 5;
	q[1].interval = SEC, q[1].burst = 1;
	q[2].interval = SEC, q[2].burst = 1, q[2].soft = 1;
	assert_int_equal(rl_gcra_batch(q, 3, tat, now), 0);
	assert_true(q[0].charged && q[1].charged && q[2].charged);
	assert_int_equal(tat[0], now + SEC);
	/* q[1] is now over: the request is refused, q[0] is not charged. */
	assert_int_equal(rl_gcra_batch(q, 3, tat, now), 1);
	assert_true(q[0].allowed);
	assert_false(q[0].charged);
	assert_false(q[1].allowed);
	assert_int_equal(q[1].retry, SEC);
	assert_int_equal(tat[0], now + SEC);
	assert_int_equal(q[0].remaining, 3);
}

/* A soft (log-only) rule never refuses; it is charged only within its limit. */
static void
test_batch_soft(void **state)
{
	struct rl_req q[2];
	int64_t	tat[2] = {0, 0}, now = 10 * SEC;

	(void) state;
	memset(q, 0, sizeof(q));
	q[0].interval = SEC, q[0].burst = 10;
	q[1].interval = SEC, q[1].burst = 1, q[1].soft = 1;
	assert_int_equal(rl_gcra_batch(q, 2, tat, now), 0);
	assert_true(q[1].charged);
	assert_int_equal(rl_gcra_batch(q, 2, tat, now), 0);
	assert_true(q[0].charged);
	assert_false(q[1].allowed);
	assert_false(q[1].charged);
	assert_int_equal(tat[1], now + SEC);	/* not pushed by the refusal */
	assert_int_equal(tat[0], now + 2 * SEC);
}

/* Extreme but allowed settings stay exact: a year's period, a big burst. */
static void
test_large_values(void **state)
{
	int64_t	year = INT64_C(31536000) * SEC;
	struct key k = {0, year / 1000, 1000};	/* 1000 a year */
	int64_t	now = INT64_C(1700000000) * SEC;	/* Redis-style epoch time */
	int	i;

	(void) state;
	for (i = 0; i < 1000; i++)
		assert_true(ask(&k, now));
	assert_false(ask(&k, now + year / 1000 - 1));
	assert_true(ask(&k, now + year / 1000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_exact),
		cmocka_unit_test(test_steady_rate),
		cmocka_unit_test(test_refusal_free),
		cmocka_unit_test(test_remaining_retry),
		cmocka_unit_test(test_batch_all_or_nothing),
		cmocka_unit_test(test_batch_soft),
		cmocka_unit_test(test_large_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
