/*
 * NAME
 *	jwriter.c - a journal directory's writer: group commit
 * DESCRIPTION
 *	Every entry must be named in its day directory, that directory
 *	fsynced, and its index line appended and fsynced before its message
 *	is accepted. Done for each entry alone, that is two fsyncs and an
 *	index lock per message on top of the entry's own files. Here threads
 *	that commit at the same time share them: jwriter_commit() queues the
 *	entry; a thread that finds no batch in progress becomes the leader,
 *	takes every queued entry (up to JWRITER_MAX_BATCH) and commits them
 *	together while the others wait; entries queued meanwhile go into the
 *	next batch. Under the index's exclusive flock() (other writers,
 *	other processes, and mailwarden-archive verify's shared lock) the
 *	leader renames each entry's files into DIR/DAY, fsyncs each day
 *	directory once, and appends all the index lines with one write and
 *	one fdatasync. Then every waiter of the batch returns with its own
 *	entry's result: an entry that cannot be moved fails alone; a failed
 *	directory fsync fails the entries of that day, a failed append every
 *	entry of the batch, and their files are removed again.
 *
 *	The writer holds no descriptors: the leader uses the first entry's
 *	directory, opens the index and day directories per batch, and makes
 *	a day directory only when it is missing.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "jwriter.h"

/* One queued entry; lives on its committing thread's stack. */
struct jw_item {
	struct journal *j;
	struct jindex_rec *r;
	char   *err;
	size_t	errlen;
	int	rc;			/* 0, or -1 with err set */
	int	published;		/* its files are in DIR/DAY */
	int	done;			/* its batch is over */
	struct jw_item *next;
};

struct jwriter {
	char   *dir;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* a batch is over */
	struct jw_item *head, **tail;	/* waiting for a leader */
	unsigned pending;
	int	busy;			/* a leader is committing */
	unsigned long long batches, entries;
	unsigned largest;
};

/* jwriter_new - the writer of journal dir; NULL when out of memory */
struct jwriter *
jwriter_new(const char *dir)
{
	struct jwriter *w;

	if ((w = calloc(1, sizeof(*w))) == NULL || (w->dir = strdup(dir)) == NULL) {
		free(w);
		return NULL;
	}
	w->tail = &w->head;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	return w;
}

/* jwriter_free - release a writer no thread uses any more; NULL is fine */
void
jwriter_free(struct jwriter *w)
{
	if (w == NULL)
		return;
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->dir);
	free(w);
}

/* jwriter_dir - the journal directory */
const char *
jwriter_dir(const struct jwriter *w)
{
	return w->dir;
}

/* jw_fail - an entry fails with a reason */
static void
jw_fail(struct jw_item *it, const char *why)
{
	if (it->rc == 0)
		snprintf(it->err, it->errlen, "%s", why);
	it->rc = -1;
}

/* jw_unpublish - an entry whose files were moved fails after all */
static void
jw_unpublish(struct jw_item *it, const char *why)
{
	jw_fail(it, why);
	if (it->published)
		journal_unpublish(it->j);
	it->published = 0;
}

/* jw_day_open - DIR/DAY to move files into, made if missing */
static int
jw_day_open(int dirfd, const char *day, int *fdp, char *err, size_t len)
{
	int	fd;

	fd = openat(dirfd, day, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (mkdirat(dirfd, day, 0750) == 0 && fsync(dirfd) < 0) {
			snprintf(err, len, "fsync after mkdir %s: %s", day, strerror(errno));
			return -1;
		}
		fd = openat(dirfd, day, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(err, len, "open %s: %s", day, strerror(errno));
		return -1;
	}
	*fdp = fd;
	return 0;
}

/* jw_day - move the entries of one day (it[0]'s) that are still ok; fsync */
static void
jw_day(int dirfd, struct jw_item **it, size_t n, unsigned char *seen)
{
	const char *day = journal_day(it[0]->j);
	char	err[300];
	size_t	i;
	int	fd = -1, any = 0;

	if (jw_day_open(dirfd, day, &fd, err, sizeof(err)) < 0)
		fd = -1;
	for (i = 0; i < n; i++) {
		if (seen[i] || it[i]->rc || strcmp(journal_day(it[i]->j), day) != 0)
			continue;
		seen[i] = 1;
		if (fd < 0)
			jw_fail(it[i], err);
		else if (journal_publish(it[i]->j, fd, it[i]->err, it[i]->errlen) < 0)
			it[i]->rc = -1;
		else
			any = it[i]->published = 1;
	}
	if (any && fsync(fd) < 0) {
		snprintf(err, sizeof(err), "fsync %s: %s", day, strerror(errno));
		for (i = 0; i < n; i++)
			if (it[i]->published && strcmp(journal_day(it[i]->j), day) == 0)
				jw_unpublish(it[i], err);
	}
	if (fd >= 0)
		close(fd);
}

/* jw_publish_all - every entry's files into its day directory, one fsync per day */
static void
jw_publish_all(int dirfd, struct jw_item **it, size_t n)
{
	unsigned char seen[JWRITER_MAX_BATCH] = {0};
	size_t	i;

	for (i = 0; i < n; i++)
		if (!seen[i] && it[i]->rc == 0)
			jw_day(dirfd, it + i, n - i, seen + i);
}

/* jw_index - append the index lines of the published entries */
static void
jw_index(int ifd, struct jw_item **it, size_t n)
{
	struct jindex_rec *r[JWRITER_MAX_BATCH];
	char	err[300];
	size_t	i, k = 0;

	for (i = 0; i < n; i++)
		if (it[i]->published)
			r[k++] = it[i]->r;
	if (k == 0 || jindex_append(ifd, r, k, err, sizeof(err)) == 0)
		return;
	for (i = 0; i < n; i++)
		if (it[i]->published)
			jw_unpublish(it[i], err);
}

/* jw_batch - commit a batch; each entry's rc and err say how it went */
static void
jw_batch(struct jw_item **it, size_t n)
{
	int	dirfd = journal_dirfd(it[0]->j), ifd;
	char	err[300];
	size_t	i;

	if (jindex_open_locked(dirfd, &ifd, err, sizeof(err)) < 0) {
		for (i = 0; i < n; i++)
			jw_fail(it[i], err);
		return;
	}
	for (i = 1; i < n; i++)
		if (!journal_same_dir(it[0]->j, it[i]->j))
			jw_fail(it[i], "the journal directory was replaced while the message was written");
	jw_publish_all(dirfd, it, n);
	jw_index(ifd, it, n);
	close(ifd);			/* releases the lock */
}

/* jw_lead - with the lock held: take the queue as a batch and commit it */
static void
jw_lead(struct jwriter *w)
{
	struct jw_item *it[JWRITER_MAX_BATCH];
	size_t	i, n = 0;

	while (w->head && n < JWRITER_MAX_BATCH) {
		it[n++] = w->head;
		if ((w->head = w->head->next) == NULL)
			w->tail = &w->head;
	}
	if (n == 0)
		return;			/* cannot happen: the caller's entry is queued */
	w->pending -= (unsigned) n;
	w->busy = 1;
	pthread_mutex_unlock(&w->lock);
	jw_batch(it, n);
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < n; i++)
		it[i]->done = 1;
	w->busy = 0;
	w->batches++;
	w->entries += n;
	if (n > w->largest)
		w->largest = (unsigned) n;
	pthread_cond_broadcast(&w->cond);
}

/*
 * jwriter_commit - make a complete entry (files written and synced) part
 * of the journal: named, its directory synced, its index line appended
 * and synced. r has its time, entry and file hashes; gets seq and chain.
 */
int
jwriter_commit(struct jwriter *w, struct journal *j, struct jindex_rec *r,
	       char *err, size_t errlen)
{
	struct jw_item it = {.j = j, .r = r, .err = err, .errlen = errlen};

	pthread_mutex_lock(&w->lock);
	*w->tail = &it;
	w->tail = &it.next;
	w->pending++;
	while (!it.done) {
		if (!w->busy)
			jw_lead(w);
		else
			pthread_cond_wait(&w->cond, &w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return it.rc;
}

/* jwriter_stats - the queue and the batches so far */
void
jwriter_stats(struct jwriter *w, struct jwriter_stats *st)
{
	pthread_mutex_lock(&w->lock);
	st->pending = w->pending;
	st->busy = w->busy;
	st->batches = w->batches;
	st->entries = w->entries;
	st->largest = w->largest;
	pthread_mutex_unlock(&w->lock);
}
