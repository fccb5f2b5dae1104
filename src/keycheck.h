/*
 * NAME
 *	keycheck.h - compare the signing keys with their DNS records
 * SYNOPSIS
 *	#include "keycheck.h"
 * DESCRIPTION
 *	keycheck_run() looks up SELECTOR._domainkey.DOMAIN for every key of
 *	a configuration snapshot, through the snapshot's resolver, and prints
 *	one line per key: whether the record's public key is the public half
 *	of the private key on disk ("mailwarden -K").
 */
#ifndef MW_KEYCHECK_H
#define MW_KEYCHECK_H

#include <stdio.h>

#include "config.h"

/* 0: every key matches its record; 1: some do not; 2: signing is off */
int	keycheck_run(struct mw_conf *, FILE *);

#endif
