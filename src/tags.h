/*
 * NAME
 *	tags.h - DKIM tag=value lists (RFC 6376 section 3.2)
 * SYNOPSIS
 *	#include "tags.h"
 * DESCRIPTION
 *	tags_get() finds one tag of a DKIM-Signature header or a key record
 *	and copies its value with all folding white space removed (which is
 *	how d=, s=, k= and p= are compared). Bounded: a value that does not
 *	fit is an error, never cut.
 */
#ifndef MW_TAGS_H
#define MW_TAGS_H

#include <stddef.h>

/* 0 and the value; -1 when the tag is absent or its value too long */
int	tags_get(const char *list, const char *tag, char *out, size_t outlen);

#endif
