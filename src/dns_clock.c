/*
 * NAME
 *	dns_clock.c - the DNS cache's clock
 * SYNOPSIS
 *	#include "dns_int.h"
 * DESCRIPTION
 *	Monotonic seconds, so that a change of the wall clock neither ages
 *	nor revives cached answers. It lives in its own object file so that
 *	unit tests can replace it with -Wl,--wrap=dns_clock_now.
 */
#include "autoconf.h"

#include <time.h>

#include "dns_int.h"

/* dns_clock_now - seconds on the monotonic clock */
time_t
dns_clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}
