/*
 * NAME
 *	jverify.h - check a journal against its hash-chained index
 * SYNOPSIS
 *	#include "jverify.h"
 * DESCRIPTION
 *	jverify_dir() reads DIR/index, checks the sequence numbers and the
 *	hash chain of every line, hashes every entry's two files, and lists
 *	entry files the index does not know. Each problem is handed to the
 *	report callback with the entry it concerns ("DAY/BASE", or
 *	"index line N" when a line names no readable entry).
 */
#ifndef MW_JVERIFY_H
#define MW_JVERIFY_H

#include <stddef.h>

typedef void (*jverify_report_fn)(void *arg, const char *entry, const char *what);

struct jverify_result {
	unsigned long long entries;	/* index lines read */
	unsigned long long last_seq;
	unsigned long problems;
	unsigned long stale_tmp;	/* files left in tmp/ (not problems) */
	char	head[65];		/* chain hash of the last line, "" if none */
};

int	jverify_dir(const char *dir, jverify_report_fn, void *arg,
		    struct jverify_result *, char *err, size_t errlen);

#endif
