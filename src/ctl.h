/*
 * NAME
 *	ctl.h - the control socket of mailwarden-ctl
 * SYNOPSIS
 *	#include "ctl.h"
 * DESCRIPTION
 *	See ctl.c.
 */
#ifndef MW_CTL_H
#define MW_CTL_H

#include <stddef.h>

/* The protocol: the request is each argument NUL-terminated, then EOF;
 * the answer is "ok\n" and the text, or "error: text\n". */
#define CTL_MAX_REQUEST	4096		/* bytes of one request */
#define CTL_MAX_ARGS	16
#define CTL_MAX_ANSWER	65536

int	ctl_start(char *err, size_t errlen);

#endif
