/*
 * NAME
 *	jindex.h - the journal's hash-chained index
 * SYNOPSIS
 *	#include "jindex.h"
 * DESCRIPTION
 *	The index (DIR/index) has one line per journal entry, appended in
 *	commit order:
 *
 *	    SEQ TIME ENTRY EML-SHA256 JSON-SHA256 CHAIN
 *
 *	SEQ counts from 1; TIME is the commit time, UTC (2026-01-05T10:11:12Z);
 *	ENTRY names the entry (DAY/BASE: files DIR/DAY/BASE.eml and .json);
 *	the two hashes are the SHA-256 of those files; CHAIN is the SHA-256
 *	of the whole previous line (newline included; nothing for the first
 *	line) followed by this line's first five fields, space-separated.
 *	All hashes are lowercase hex.
 */
#ifndef MW_JINDEX_H
#define MW_JINDEX_H

#include <stddef.h>
#include <sys/types.h>

#define JINDEX_FILE	"index"
#define JINDEX_MAX_LINE	512		/* longest valid line, newline included */
#define JINDEX_MAX_ENTRY 160		/* longest entry name, NUL included */

struct jindex_rec {
	unsigned long long seq;
	char	time[24];
	char	entry[JINDEX_MAX_ENTRY];
	char	eml[65];
	char	json[65];
	char	chain[65];
};

void	jindex_hex(const unsigned char *, size_t, char *);
int	jindex_sha256_hex(const void *, size_t, char hex[65]);
int	jindex_entry_ok(const char *);
int	jindex_chain(const char *prev, size_t prevlen, const struct jindex_rec *,
		     char hex[65]);
int	jindex_format(const struct jindex_rec *, char *, size_t);
int	jindex_parse(const char *, size_t, struct jindex_rec *, char *, size_t);
int	jindex_open_locked(int dirfd, int *fdp, char *, size_t);
int	jindex_tail(int fd, char *line, size_t *linelen, off_t *size, char *, size_t);
int	jindex_append(int fd, struct jindex_rec *const *, size_t n, char *, size_t);

#endif
