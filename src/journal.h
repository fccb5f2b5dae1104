/*
 * NAME
 *	journal.h - write journal entries crash-safely
 * SYNOPSIS
 *	#include "journal.h"
 * DESCRIPTION
 *	An entry is two files in a directory per day: BASE.eml, the message
 *	exactly as received, and BASE.json, its envelope record. The message
 *	is streamed to a temporary file while it arrives; journal_commit()
 *	makes both files durable and hands the entry to the directory's
 *	writer (jwriter.h), which moves them into DIR/DAY/ and appends the
 *	entry to the index (jindex.h) together with the entries of other
 *	threads that commit at the same time. See mailwarden-archive(8) for
 *	the format.
 */
#ifndef MW_JOURNAL_H
#define MW_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jindex.h"
#include "jwriter.h"

#define JOURNAL_TMPDIR	"tmp"

struct journal;

int	journal_open(struct jwriter *, const char *qid, time_t now,
		     struct journal **, char *err, size_t errlen);
int	journal_write(struct journal *, const void *, size_t, char *, size_t);
const char *journal_entry(const struct journal *);
const char *journal_base(const struct journal *);
int	journal_finish(struct journal *, char hex[65], uint64_t *size,
		       char *, size_t);
int	journal_commit(struct journal *, const char *json, size_t jsonlen,
		       struct jindex_rec *, char *, size_t);
void	journal_free(struct journal *);
int	journal_dir_check(const char *dir, const char *user, const char *group,
			  char *, size_t);

/* For the writer (jwriter.c), under the index lock. */
int	journal_dirfd(const struct journal *);
const char *journal_day(const struct journal *);
int	journal_same_dir(const struct journal *, const struct journal *);
int	journal_publish(struct journal *, int dayfd, char *, size_t);
void	journal_unpublish(struct journal *);

#endif
