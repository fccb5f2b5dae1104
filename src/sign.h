/*
 * NAME
 *	sign.h - outbound DKIM signing: the stage and its configuration
 * SYNOPSIS
 *	#include "sign.h"
 * DESCRIPTION
 *	sign_conf.c builds struct sign_conf once per configuration snapshot:
 *	the signing table with every key loaded and checked, and one
 *	libopendkim library handle set up with the header lists, the
 *	canonicalization and the expiry. dkim_sign.c is the stage that signs
 *	outbound messages with it.
 */
#ifndef MW_SIGN_H
#define MW_SIGN_H

#include <confuse.h>
#include <opendkim/dkim.h>

#include "mailwarden.h"
#include "signtab.h"

struct sign_conf {
	DKIM_LIB *lib;
	struct signtab *tab;
	dkim_canon_t hcanon, bcanon;
};

int	sign_conf_load(cfg_t *, struct mw_conf *, void **);
void	sign_conf_free(void *);

extern const struct mw_stage stage_sign;

#endif
