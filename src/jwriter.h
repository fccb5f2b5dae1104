/*
 * NAME
 *	jwriter.h - a journal directory's writer: group commit
 * SYNOPSIS
 *	#include "jwriter.h"
 * DESCRIPTION
 *	One writer per journal directory and configuration snapshot. Milter
 *	threads whose entries are complete (files written and fsynced, see
 *	journal.h) queue them with jwriter_commit(); one of them, the
 *	leader, takes every entry queued so far as a batch and, under the
 *	index lock, moves all their files into their day directories, fsyncs
 *	each day directory once, and appends all their index lines with one
 *	write and one fdatasync. Each thread returns once the batch holding
 *	its entry is durable, with its own entry's result.
 */
#ifndef MW_JWRITER_H
#define MW_JWRITER_H

#include <stddef.h>

#include "jindex.h"

#define JWRITER_MAX_BATCH	64	/* entries committed together, at most */

struct journal;
struct jwriter;

struct jwriter_stats {
	unsigned pending;		/* entries waiting for a leader */
	int	busy;			/* a batch is being committed */
	unsigned long long batches;	/* batches committed (or failed) */
	unsigned long long entries;	/* entries in them */
	unsigned largest;		/* entries in the largest batch */
};

struct jwriter *jwriter_new(const char *dir);
void	jwriter_free(struct jwriter *);
const char *jwriter_dir(const struct jwriter *);
int	jwriter_commit(struct jwriter *, struct journal *, struct jindex_rec *,
		       char *err, size_t errlen);
void	jwriter_stats(struct jwriter *, struct jwriter_stats *);

#endif
