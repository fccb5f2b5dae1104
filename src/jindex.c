/*
 * NAME
 *	jindex.c - the journal's hash-chained index
 * DESCRIPTION
 *	Line format and hash chain: see jindex.h. Every line depends on the
 *	one before it, so a line changed, removed or moved breaks the chain
 *	at that point, and mailwarden-archive verify can say where.
 *
 *	Writers (milter threads, possibly several processes) serialize on an
 *	exclusive flock() of the index, taken on a descriptor of their own
 *	(flock locks belong to the open file, so threads exclude each other
 *	too). Under the lock a writer reads the last line, appends the lines
 *	of a whole batch of entries (jwriter.c) with a single write() on an
 *	O_APPEND descriptor, and fdatasyncs. A failed or short append is cut
 *	off again, so the index never keeps a torn line that would stop every
 *	later append.
 *
 *	Functions return 0 or -1 and write the reason into the caller's
 *	buffer; they never log.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "jindex.h"

/* jindex_hex - n bytes as 2n lowercase hex digits and a NUL */
void
jindex_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t	i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

/* jindex_sha256_hex - SHA-256 of a buffer, in hex; -1 if libcrypto fails */
int
jindex_sha256_hex(const void *p, size_t n, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	jindex_hex(md, 32, hex);
	return 0;
}

/* jindex_entry_ok - "YYYY-MM-DD/BASE", BASE of [A-Za-z0-9._-], no leading dot */
int
jindex_entry_ok(const char *e)
{
	static const char day[] = "dddd-dd-dd/";
	size_t	i, n = strlen(e);

	if (n < sizeof(day) || n >= JINDEX_MAX_ENTRY - 5)	/* room for ".json" */
		return 0;
	for (i = 0; i < sizeof(day) - 1; i++)
		if (day[i] == 'd' ? !isdigit((unsigned char) e[i]) : e[i] != day[i])
			return 0;
	if (e[i] == '.')
		return 0;
	for (; i < n; i++)
		if (!isalnum((unsigned char) e[i]) && !strchr("._-", e[i]))
			return 0;
	return 1;
}

/* jindex_fields - the first five fields of a line, no newline; length or -1 */
static int
jindex_fields(const struct jindex_rec *r, char *out, size_t len)
{
	int	n = snprintf(out, len, "%llu %s %s %s %s", r->seq, r->time,
			     r->entry, r->eml, r->json);

	return n < 0 || (size_t) n >= len ? -1 : n;
}

/* jindex_chain - SHA-256 of the previous line and this line's fields */
int
jindex_chain(const char *prev, size_t prevlen, const struct jindex_rec *r,
	     char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char	fields[JINDEX_MAX_LINE];
	int	n, ok;
	EVP_MD_CTX *ctx;

	if ((n = jindex_fields(r, fields, sizeof(fields))) < 0
	    || (ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1
	    && EVP_DigestUpdate(ctx, prev, prevlen) == 1
	    && EVP_DigestUpdate(ctx, fields, (size_t) n) == 1
	    && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	jindex_hex(md, 32, hex);
	return 0;
}

/* jindex_format - the whole line of a record, newline included; length or -1 */
int
jindex_format(const struct jindex_rec *r, char *out, size_t len)
{
	int	n = jindex_fields(r, out, len);

	if (n < 0 || (size_t) n + 67 > len || n + 67 > JINDEX_MAX_LINE)
		return -1;
	snprintf(out + n, len - (size_t) n, " %s\n", r->chain);
	return n + 66;
}

/* hex64_ok - 64 lowercase hex digits */
static int
hex64_ok(const char *s)
{
	size_t	i;

	for (i = 0; i < 64; i++)
		if (!isdigit((unsigned char) s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return 0;
	return s[64] == 0;
}

/* time_ok - "YYYY-MM-DDTHH:MM:SSZ" */
static int
time_ok(const char *s)
{
	static const char form[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t	i;

	for (i = 0; i < sizeof(form) - 1; i++)
		if (form[i] == 'd' ? !isdigit((unsigned char) s[i]) : s[i] != form[i])
			return 0;
	return s[i] == 0;
}

/* jindex_copy_field - next space-separated field of a line into dst */
static const char *
jindex_copy_field(const char *p, const char *end, char *dst, size_t len)
{
	const char *q = memchr(p, ' ', (size_t) (end - p));
	size_t	n;

	if (q == NULL)
		q = end;
	n = (size_t) (q - p);
	if (n == 0 || n >= len)
		return NULL;
	memcpy(dst, p, n);
	dst[n] = 0;
	return q < end ? q + 1 : q;
}

/* jindex_parse - a line (newline optional) into a record; -1 with reason */
int
jindex_parse(const char *line, size_t len, struct jindex_rec *r, char *err,
	     size_t errlen)
{
	const char *p = line, *end = line + len;
	char	seq[24], *e;

	memset(r, 0, sizeof(*r));
	if (len && end[-1] == '\n')
		end--;
	/* One spelling per line: no space after the last field, no leading zero. */
	if (len > JINDEX_MAX_LINE || memchr(line, 0, (size_t) (end - line))
	    || (end > line && end[-1] == ' ')
	    || (p = jindex_copy_field(p, end, seq, sizeof(seq))) == NULL
	    || (p = jindex_copy_field(p, end, r->time, sizeof(r->time))) == NULL
	    || (p = jindex_copy_field(p, end, r->entry, sizeof(r->entry))) == NULL
	    || (p = jindex_copy_field(p, end, r->eml, sizeof(r->eml))) == NULL
	    || (p = jindex_copy_field(p, end, r->json, sizeof(r->json))) == NULL
	    || (p = jindex_copy_field(p, end, r->chain, sizeof(r->chain))) == NULL
	    || p != end) {
		snprintf(err, errlen, "malformed index line");
		return -1;
	}
	errno = 0;
	r->seq = strtoull(seq, &e, 10);
	if (!isdigit((unsigned char) *seq) || *seq == '0' || *e || errno || r->seq == 0
	    || !time_ok(r->time) || !jindex_entry_ok(r->entry)
	    || !hex64_ok(r->eml) || !hex64_ok(r->json) || !hex64_ok(r->chain)) {
		snprintf(err, errlen, "malformed index line");
		return -1;
	}
	return 0;
}

/* jindex_open_locked - open DIR/index for appending, exclusively locked */
int
jindex_open_locked(int dirfd, int *fdp, char *err, size_t len)
{
	int	fd;

	fd = openat(dirfd, JINDEX_FILE, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, len, "open %s: %s", JINDEX_FILE, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		snprintf(err, len, "lock %s: %s", JINDEX_FILE, strerror(errno));
		close(fd);
		return -1;
	}
	*fdp = fd;
	return 0;
}

/*
 * jindex_tail - the last line of the index (newline included) into line
 * (JINDEX_MAX_LINE + 1 bytes), its length (0: empty index) and the file size.
 */
int
jindex_tail(int fd, char *line, size_t *linelen, off_t *size, char *err, size_t len)
{
	struct stat st;
	size_t	want;
	ssize_t	got;
	char   *nl;

	*linelen = 0;
	if (fstat(fd, &st) < 0) {
		snprintf(err, len, "stat %s: %s", JINDEX_FILE, strerror(errno));
		return -1;
	}
	if ((*size = st.st_size) == 0)
		return 0;
	want = st.st_size > JINDEX_MAX_LINE ? JINDEX_MAX_LINE + 1 : (size_t) st.st_size;
	got = pread(fd, line, want, st.st_size - (off_t) want);
	if (got != (ssize_t) want) {
		snprintf(err, len, "read %s: %s", JINDEX_FILE, got < 0 ? strerror(errno) : "short read");
		return -1;
	}
	if (line[want - 1] != '\n') {
		snprintf(err, len, "%s ends in an incomplete line: run mailwarden-archive verify", JINDEX_FILE);
		return -1;
	}
	/* The newline before the last line; NUL bytes in the file do not hide it. */
	nl = memrchr(line, '\n', want - 1);
	*linelen = nl ? want - (size_t) (nl + 1 - line) : want;
	if (*linelen > JINDEX_MAX_LINE) {
		*linelen = 0;
		snprintf(err, len, "%s ends in an overlong line: run mailwarden-archive verify", JINDEX_FILE);
		return -1;
	}
	memmove(line, nl ? nl + 1 : line, *linelen);
	line[*linelen] = 0;
	return 0;
}

/* jindex_cut - undo a failed append; the error stays the append's */
static void
jindex_cut(int fd, off_t size)
{
	if (ftruncate(fd, size) == 0)
		(void) fsync(fd);
}

/* jindex_next - seq and chain of r, the line after prev; its line into out */
static int
jindex_next(const char *prev, size_t prevlen, unsigned long long seq,
	    struct jindex_rec *r, char *out, size_t outlen)
{
	r->seq = seq;
	if (jindex_chain(prev, prevlen, r, r->chain) < 0)
		return -1;
	return jindex_format(r, out, outlen);
}

/* jindex_lines - the lines of n records after the index's last line, in buf */
static int
jindex_lines(const char *prev, size_t prevlen, struct jindex_rec *const *r, size_t n,
	     char *buf, size_t *buflen, char *err, size_t len)
{
	struct jindex_rec last;
	unsigned long long seq = 1;
	size_t	i, off = 0;
	int	olen;

	if (prevlen) {
		if (jindex_parse(prev, prevlen, &last, err, len) < 0) {
			snprintf(err, len, "the last line of %s is damaged: run mailwarden-archive verify", JINDEX_FILE);
			return -1;
		}
		seq = last.seq + 1;
	}
	for (i = 0; i < n; i++) {
		if ((olen = jindex_next(i ? buf + off - prevlen : prev, prevlen, seq + i,
					r[i], buf + off, JINDEX_MAX_LINE + 1)) < 0) {
			snprintf(err, len, "cannot format the index line of %s", r[i]->entry);
			return -1;
		}
		prevlen = (size_t) olen;
		off += prevlen;
	}
	*buflen = off;
	return 0;
}

/*
 * jindex_append - under the caller's lock, give each of n records the next
 * sequence number and its chain hash, append their lines with one write
 * and fdatasync. Their time, entry and both file hashes must be set. All
 * or none: a failed or short append is cut off again.
 */
int
jindex_append(int fd, struct jindex_rec *const *r, size_t n, char *err, size_t len)
{
	char	prev[JINDEX_MAX_LINE + 1], *buf;
	size_t	prevlen, blen;
	off_t	size;
	ssize_t	w = 0;
	int	rc = -1;

	if (n == 0)
		return 0;
	if (jindex_tail(fd, prev, &prevlen, &size, err, len) < 0)
		return -1;
	if ((buf = malloc(n * JINDEX_MAX_LINE + 1)) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	if (jindex_lines(prev, prevlen, r, n, buf, &blen, err, len) < 0)
		goto out;
	if ((w = write(fd, buf, blen)) != (ssize_t) blen || fdatasync(fd) < 0) {
		snprintf(err, len, "append to %s: %s", JINDEX_FILE,
			 w >= 0 && (size_t) w < blen ? "short write (file system full?)" : strerror(errno));
		jindex_cut(fd, size);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}
