/*
 * NAME
 *	clock.c - the time rate limiting runs on
 * SYNOPSIS
 *	#include "clock.h"
 *
 *	int64_t clock_now_us(void)
 * DESCRIPTION
 *	clock_now_us() returns microseconds of CLOCK_MONOTONIC: it never
 *	goes back when the wall clock is set, which a rate limiter needs.
 *	The value is meaningful within this process only; the Redis store
 *	uses the Redis server's own clock instead, so that several hosts
 *	agree.
 *
 *	It lives alone in this file so that a unit test can wrap it with
 *	ld --wrap=clock_now_us (a wrap only redirects calls that cross
 *	object files).
 */
#include "autoconf.h"

#include <time.h>

#include "clock.h"

/* clock_now_us - monotonic time in microseconds */
int64_t
clock_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
