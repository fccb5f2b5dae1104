/*
 * NAME
 *	keytable.h - import OpenDKIM's KeyTable and SigningTable files
 * SYNOPSIS
 *	#include "keytable.h"
 * DESCRIPTION
 *	keytable_import() reads the plain-file forms of OpenDKIM's KeyTable
 *	("name domain:selector:/path/to/key") and SigningTable ("pattern
 *	name") into a signing table, loading each key that the SigningTable
 *	uses once. Every problem is handed to the report function with the
 *	table's file name and line, and the import goes on, so that all of
 *	them are reported at once; the result is -1 when there was any.
 */
#ifndef MW_KEYTABLE_H
#define MW_KEYTABLE_H

#include "keys.h"
#include "signtab.h"

struct keytable_opts {
	int	require_safe;
	const struct keys_owner *owner;
	void	(*report)(void *arg, const char *msg);
	void   *arg;
};

int	keytable_import(struct signtab *, const char *keytable,
			const char *signingtable, const struct keytable_opts *);

/* A selector as DNS allows it: labels of letters, digits, '-', '_'. */
int	keytable_selector_ok(const char *);

#endif
