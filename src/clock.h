/*
 * NAME
 *	clock.h - the time rate limiting runs on
 * SYNOPSIS
 *	#include "clock.h"
 * DESCRIPTION
 *	clock_now_us() is in a file of its own so that unit tests can
 *	replace it (ld --wrap=clock_now_us) and move time by hand.
 */
#ifndef MW_CLOCK_H
#define MW_CLOCK_H

#include <stdint.h>

int64_t	clock_now_us(void);

#endif
