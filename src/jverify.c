/*
 * NAME
 *	jverify.c - check a journal against its hash-chained index
 * DESCRIPTION
 *	Three passes. First the index is read without a lock up to its last
 *	complete line: every line must parse, carry the next sequence number
 *	and the chain hash of the line before it, and both files of its entry
 *	must exist with the SHA-256 the line records. Then the day
 *	directories are listed; an entry file the index does not name is a
 *	candidate. Last, under a shared lock of the index (writers rename
 *	and append under an exclusive one), the lines appended meanwhile are
 *	read and checked, so an entry committed during the check is not
 *	taken for an unindexed one; the candidates still unknown are reported.
 *
 *	Memory: 8 bytes per indexed entry (a 64-bit hash of its name) and the
 *	names of unindexed files. Lines longer than JINDEX_MAX_LINE are
 *	reported, never buffered.
 */
#include "autoconf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "jindex.h"
#include "jverify.h"

#define JV_BUF	65536
#define JV_MAX_GAPS 64			/* sequence gaps remembered at once */

/* Sequence numbers not seen (yet): removed lines, or lines moved later. */
struct jv_gap {
	unsigned long long lo, hi;	/* the missing numbers */
	unsigned long long line;	/* the index line after them */
	char	entry[JINDEX_MAX_ENTRY];	/* its entry */
};

struct jv {
	int	dirfd, ifd;
	off_t	offset;			/* index bytes consumed */
	unsigned long long lineno, expect;
	char	prev[JINDEX_MAX_LINE + 1];
	size_t	prevlen;
	int	skipping;		/* inside an overlong line */
	uint64_t *names;		/* hashes of indexed entries */
	size_t	nnames, capnames;
	char  **cand;			/* unindexed entry files */
	size_t	ncand, capcand;
	jverify_report_fn report;
	void   *arg;
	struct jverify_result *res;
	int	oom;
	struct jv_gap gap[JV_MAX_GAPS];
	unsigned ngap;
};

/* jv_problem - report one problem */
static void
jv_problem(struct jv *v, const char *entry, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
jv_problem(struct jv *v, const char *entry, const char *fmt, ...)
{
	char	text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	v->res->problems++;
	v->report(v->arg, entry, text);
}

/* jv_hash_name - FNV-1a, 64 bits, of an entry name */
static uint64_t
jv_hash_name(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}

/* jv_cmp - order of two name hashes */
static int
jv_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/* jv_sort - sort the name hashes for jv_known (none yet: nothing to sort) */
static void
jv_sort(struct jv *v)
{
	if (v->nnames > 1)
		qsort(v->names, v->nnames, sizeof(*v->names), jv_cmp);
}

/* jv_remember - note an indexed entry name */
static void
jv_remember(struct jv *v, const char *entry)
{
	uint64_t *n;

	if (v->nnames == v->capnames) {
		size_t	cap = v->capnames ? v->capnames * 2 : 1024;

		if ((n = realloc(v->names, cap * sizeof(*n))) == NULL) {
			v->oom = 1;
			return;
		}
		v->names = n;
		v->capnames = cap;
	}
	v->names[v->nnames++] = jv_hash_name(entry);
}

/* jv_known - is an entry name in the index? names must be sorted */
static int
jv_known(const struct jv *v, const char *entry)
{
	uint64_t h = jv_hash_name(entry);

	return v->nnames && bsearch(&h, v->names, v->nnames, sizeof(h), jv_cmp) != NULL;
}

/* jv_file_hash - SHA-256 of DIR/path in hex; -1 with errno */
static int
jv_file_hash(int dirfd, const char *path, char hex[65])
{
	unsigned char buf[JV_BUF], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	EVP_MD_CTX *ctx;
	ssize_t	n;
	int	fd, ok = 1;

	if ((fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		ok = 0;
	while (ok && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		ok = n > 0 && EVP_DigestUpdate(ctx, buf, (size_t) n) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
	EVP_MD_CTX_free(ctx);
	close(fd);
	if (!ok)
		return errno = errno ? errno : EIO, -1;
	jindex_hex(md, 32, hex);
	return 0;
}

/* jv_check_file - one file of an entry against its recorded hash */
static void
jv_check_file(struct jv *v, const char *entry, const char *ext, const char *want)
{
	char	path[JINDEX_MAX_ENTRY + 8], hex[65];

	snprintf(path, sizeof(path), "%s.%s", entry, ext);
	errno = 0;
	if (jv_file_hash(v->dirfd, path, hex) < 0) {
		if (errno == ENOENT)
			jv_problem(v, entry, "removed: %s is missing", path);
		else
			jv_problem(v, entry, "cannot read %s: %s", path, strerror(errno));
	} else if (strcmp(hex, want) != 0) {
		jv_problem(v, entry, "changed: %s does not match the SHA-256 in the index", path);
	}
}

/* jv_gap_report - sequence numbers that never appeared: lines removed */
static void
jv_gap_report(struct jv *v, const struct jv_gap *g)
{
	if (g->lo == g->hi)
		jv_problem(v, g->entry, "removed: the index line with sequence %llu, "
			   "before index line %llu, is missing", g->lo, g->line);
	else
		jv_problem(v, g->entry, "removed: the index lines with sequence %llu..%llu, "
			   "before index line %llu, are missing", g->lo, g->hi, g->line);
}

/* jv_gap_open - numbers lo..hi were skipped before this line */
static void
jv_gap_open(struct jv *v, unsigned long long lo, unsigned long long hi, const char *entry)
{
	struct jv_gap g;

	g.lo = lo;
	g.hi = hi;
	g.line = v->lineno;
	snprintf(g.entry, sizeof(g.entry), "%s", entry);
	if (v->ngap < JV_MAX_GAPS)
		v->gap[v->ngap++] = g;
	else
		jv_gap_report(v, &g);		/* cannot wait for them: say it now */
}

/* jv_gap_fill - a late sequence number: was it missing? */
static int
jv_gap_fill(struct jv *v, unsigned long long seq)
{
	struct jv_gap *g;
	unsigned i;

	for (i = 0, g = v->gap; i < v->ngap; i++, g++) {
		if (seq < g->lo || seq > g->hi)
			continue;
		if (g->lo == g->hi)
			*g = v->gap[--v->ngap];
		else if (seq == g->lo)
			g->lo++;
		else if (seq == g->hi)
			g->hi--;
		else {
			struct jv_gap upper = *g;

			g->hi = seq - 1;
			upper.lo = seq + 1;
			if (v->ngap < JV_MAX_GAPS)
				v->gap[v->ngap++] = upper;
			else
				jv_gap_report(v, &upper);
		}
		return 1;
	}
	return 0;
}

/* jv_check_seq - the sequence number must be the next one */
static void
jv_check_seq(struct jv *v, const struct jindex_rec *r)
{
	if (r->seq > v->expect)
		jv_gap_open(v, v->expect, r->seq - 1, r->entry);
	else if (r->seq < v->expect && jv_gap_fill(v, r->seq))
		jv_problem(v, r->entry, "reordered: index line %llu has sequence %llu, "
			   "after sequence %llu", v->lineno, r->seq, v->expect - 1);
	else if (r->seq < v->expect)
		jv_problem(v, r->entry, "added: index line %llu repeats sequence %llu "
			   "(a line was copied)", v->lineno, r->seq);
	if (r->seq + 1 > v->expect)
		v->expect = r->seq + 1;
}

/* jv_set_prev - the line the next one chains to */
static void
jv_set_prev(struct jv *v, const char *line, size_t len)
{
	if (len > JINDEX_MAX_LINE)
		len = JINDEX_MAX_LINE;	/* a broken line breaks the chain anyway */
	memcpy(v->prev, line, len);
	v->prevlen = len;
}

/* jv_line - check one complete index line (newline included) */
static void
jv_line(struct jv *v, const char *line, size_t len)
{
	struct jindex_rec r;
	char	where[64], hex[65], err[128];

	v->lineno++;
	snprintf(where, sizeof(where), "index line %llu", v->lineno);
	if (jindex_parse(line, len, &r, err, sizeof(err)) < 0) {
		jv_problem(v, where, "changed: %s", err);
		v->expect++;
		jv_set_prev(v, line, len);
		return;
	}
	jv_check_seq(v, &r);
	if (jindex_chain(v->prev, v->prevlen, &r, hex) < 0 || strcmp(hex, r.chain) != 0)
		jv_problem(v, r.entry, "hash chain broken at index line %llu: this line or "
			   "the one before it was changed, removed or reordered", v->lineno);
	jv_remember(v, r.entry);
	jv_check_file(v, r.entry, "eml", r.eml);
	jv_check_file(v, r.entry, "json", r.json);
	jv_set_prev(v, line, len);
	v->res->entries++;
	v->res->last_seq = r.seq;
	memcpy(v->res->head, r.chain, sizeof(v->res->head));
}

/* jv_overlong - a line past JINDEX_MAX_LINE: report it, skip to its end */
static void
jv_overlong(struct jv *v)
{
	char	where[64];

	v->lineno++;
	v->expect++;
	snprintf(where, sizeof(where), "index line %llu", v->lineno);
	jv_problem(v, where, "changed: line longer than %d bytes", JINDEX_MAX_LINE);
	v->prevlen = 0;
	v->skipping = 1;
}

/* jv_scan - split buf[0..have) into lines; the bytes consumed */
static size_t
jv_scan(struct jv *v, const char *buf, size_t have)
{
	const char *nl;
	size_t	start = 0;

	while ((nl = memchr(buf + start, '\n', have - start)) != NULL) {
		size_t	len = (size_t) (nl - buf - start) + 1;

		if (v->skipping)
			v->skipping = 0;
		else
			jv_line(v, buf + start, len);
		start += len;
	}
	if (have - start > JINDEX_MAX_LINE) {	/* no newline in sight */
		if (!v->skipping)
			jv_overlong(v);
		start = have;
	}
	return start;
}

/* jv_lines - check index lines from v->offset to the end; final: at EOF too */
static int
jv_lines(struct jv *v, int final, char *err, size_t errlen)
{
	char	buf[JV_BUF + JINDEX_MAX_LINE + 1];
	size_t	have = 0, used;
	ssize_t	n;

	for (;;) {
		n = pread(v->ifd, buf + have, sizeof(buf) - have, v->offset + (off_t) have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "read %s: %s", JINDEX_FILE, strerror(errno));
			return -1;
		}
		have += (size_t) n;
		used = jv_scan(v, buf, have);
		v->offset += (off_t) used;
		memmove(buf, buf + used, have - used);
		have -= used;
		if (n == 0)
			break;
	}
	if (final && have > 0 && !v->skipping) {
		char	where[64];

		snprintf(where, sizeof(where), "index line %llu", v->lineno + 1);
		jv_problem(v, where, "changed: the index ends in an incomplete line");
	}
	return 0;
}

/* jv_candidate - an entry file the index did not name (yet) */
static void
jv_candidate(struct jv *v, const char *path)
{
	char  **c;

	if (v->ncand == v->capcand) {
		size_t	cap = v->capcand ? v->capcand * 2 : 64;

		if ((c = realloc(v->cand, cap * sizeof(*c))) == NULL) {
			v->oom = 1;
			return;
		}
		v->cand = c;
		v->capcand = cap;
	}
	if ((v->cand[v->ncand] = strdup(path)) == NULL)
		v->oom = 1;
	else
		v->ncand++;
}

/* day_ok - a day directory's name: YYYY-MM-DD */
static int
day_ok(const char *s)
{
	static const char form[] = "dddd-dd-dd";
	size_t	i;

	for (i = 0; i < sizeof(form) - 1; i++)
		if (form[i] == 'd' ? !isdigit((unsigned char) s[i]) : s[i] != form[i])
			return 0;
	return s[i] == 0;
}

/* jv_day - list one day directory; unknown files become candidates */
static void
jv_day(struct jv *v, const char *day)
{
	char	entry[16 + sizeof(((struct dirent *) 0)->d_name)], *dot;
	struct dirent *d;
	DIR    *dp;
	int	fd;

	if ((fd = openat(v->dirfd, day, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
	    || (dp = fdopendir(fd)) == NULL) {
		jv_problem(v, day, "cannot list this day directory: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((d = readdir(dp)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		snprintf(entry, sizeof(entry), "%.10s/%s", day, d->d_name);
		dot = strrchr(entry, '.');
		if (dot && (strcmp(dot, ".eml") == 0 || strcmp(dot, ".json") == 0)) {
			*dot = 0;
			if (jindex_entry_ok(entry) && jv_known(v, entry))
				continue;
			*dot = '.';
		}
		jv_candidate(v, entry);
	}
	closedir(dp);
}

/* jv_walk - list the journal: day directories and tmp/ */
static void
jv_walk(struct jv *v)
{
	struct dirent *d;
	DIR    *dp;
	int	fd;

	if ((fd = openat(v->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
	    || (dp = fdopendir(fd)) == NULL) {
		jv_problem(v, ".", "cannot list the journal directory: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((d = readdir(dp)) != NULL)
		if (day_ok(d->d_name))
			jv_day(v, d->d_name);
	closedir(dp);
	if ((fd = openat(v->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0
	    && (dp = fdopendir(fd)) != NULL) {
		while ((d = readdir(dp)) != NULL)
			if (*d->d_name != '.')
				v->res->stale_tmp++;
		closedir(dp);
	} else if (fd >= 0) {
		close(fd);
	}
}

/* jv_unindexed - report the candidates the index still does not name */
static void
jv_unindexed(struct jv *v)
{
	size_t	i;

	for (i = 0; i < v->ncand; i++) {
		char	entry[300], *dot;

		snprintf(entry, sizeof(entry), "%s", v->cand[i]);
		dot = strrchr(entry, '.');
		if (dot && (strcmp(dot, ".eml") == 0 || strcmp(dot, ".json") == 0)) {
			*dot = 0;
			if (jindex_entry_ok(entry) && jv_known(v, entry))
				continue;
			jv_problem(v, entry, "added: %s is not in the index", v->cand[i]);
		} else {
			jv_problem(v, v->cand[i], "added: not a journal file");
		}
	}
}

/* jv_open - the journal directory and its index (which may not exist yet) */
static int
jv_open(struct jv *v, const char *dir, char *err, size_t len)
{
	if ((v->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, len, "open %s: %s", dir, strerror(errno));
		return -1;
	}
	v->ifd = openat(v->dirfd, JINDEX_FILE, O_RDONLY | O_CLOEXEC);
	if (v->ifd < 0 && errno != ENOENT) {
		snprintf(err, len, "open %s/%s: %s", dir, JINDEX_FILE, strerror(errno));
		return -1;
	}
	return 0;
}

/* jv_free - release the checker's state */
static void
jv_free(struct jv *v)
{
	size_t	i;

	for (i = 0; i < v->ncand; i++)
		free(v->cand[i]);
	free(v->cand);
	free(v->names);
	if (v->ifd >= 0)
		close(v->ifd);
	if (v->dirfd >= 0)
		close(v->dirfd);
}

/* jv_run - the three passes */
static int
jv_run(struct jv *v, char *err, size_t len)
{
	if (v->ifd >= 0 && jv_lines(v, 0, err, len) < 0)
		return -1;
	jv_sort(v);
	jv_walk(v);
	if (v->ifd < 0)
		v->ifd = openat(v->dirfd, JINDEX_FILE, O_RDONLY | O_CLOEXEC);
	if (v->ifd >= 0) {
		if (flock(v->ifd, LOCK_SH) < 0 || jv_lines(v, 1, err, len) < 0) {
			if (!*err)
				snprintf(err, len, "lock %s: %s", JINDEX_FILE, strerror(errno));
			return -1;
		}
		(void) flock(v->ifd, LOCK_UN);
	}
	jv_sort(v);
	for (unsigned i = 0; i < v->ngap; i++)
		jv_gap_report(v, &v->gap[i]);
	jv_unindexed(v);
	if (v->oom) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	return 0;
}

/* jverify_dir - check a journal; 0 when checked (see res->problems), -1 */
int
jverify_dir(const char *dir, jverify_report_fn report, void *arg,
	    struct jverify_result *res, char *err, size_t len)
{
	struct jv v;
	int	rc;

	memset(&v, 0, sizeof(v));
	memset(res, 0, sizeof(*res));
	*err = 0;
	v.dirfd = v.ifd = -1;
	v.expect = 1;
	v.report = report;
	v.arg = arg;
	v.res = res;
	rc = jv_open(&v, dir, err, len) < 0 ? -1 : jv_run(&v, err, len);
	jv_free(&v);
	return rc;
}
