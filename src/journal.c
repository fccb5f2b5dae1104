/*
 * NAME
 *	journal.c - write journal entries crash-safely
 * DESCRIPTION
 *	journal_open() creates DIR/tmp/BASE.eml (O_EXCL); journal_write()
 *	appends to it and feeds SHA-256 as the message streams in, so no
 *	message is ever held whole in memory. journal_finish() fsyncs it.
 *	journal_commit() writes DIR/tmp/BASE.json the same way, then, under
 *	the index lock, renames both into DIR/DAY/, fsyncs DIR/DAY, and
 *	appends the index line (fsynced). Only then may the message be
 *	accepted. Any failure removes what this entry created, so a failed
 *	entry leaves neither files nor an index line behind.
 *
 *	BASE is TIME-QID-RANDOM: the UTC time the message started, the queue
 *	ID reduced to letters and digits, and 64 random bits.
 *
 *	journal_dir_check() tells at configuration load whether the run-as
 *	user will be able to write the journal.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "journal.h"

#define JOURNAL_MAX_QID	32		/* queue ID characters kept in a name */

struct journal {
	int	dirfd;			/* the journal directory */
	int	fd;			/* tmp/BASE.eml while streaming, else -1 */
	int	have_eml, have_json;	/* temporary files to remove */
	int	committed;
	char	day[11];		/* YYYY-MM-DD */
	char	base[96];
	char	entry[JINDEX_MAX_ENTRY];	/* DAY/BASE */
	EVP_MD_CTX *md;
	uint64_t size;
	char	eml_hex[65];
};

/* journal_path - "tmp/BASE.ext" or "DAY/BASE.ext" */
static void
journal_path(const struct journal *j, const char *where, const char *ext,
	     char *out, size_t len)
{
	snprintf(out, len, "%s/%s.%s", where, j->base, ext);
}

/* journal_name - choose DAY and BASE for a message started at now */
static int
journal_name(struct journal *j, const char *qid, time_t now, char *err, size_t len)
{
	unsigned char rnd[8];
	char	q[JOURNAL_MAX_QID + 1], hex[17], stamp[20];
	struct tm tm;
	size_t	i, n = 0;

	for (i = 0; qid[i] && n < JOURNAL_MAX_QID; i++)
		if (isalnum((unsigned char) qid[i]))
			q[n++] = qid[i];
	q[n] = 0;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd)) {
		snprintf(err, len, "getrandom: %s", strerror(errno));
		return -1;
	}
	jindex_hex(rnd, sizeof(rnd), hex);
	gmtime_r(&now, &tm);
	strftime(j->day, sizeof(j->day), "%Y-%m-%d", &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(j->base, sizeof(j->base), "%s-%s-%s", stamp, n ? q : "NOQUEUE", hex);
	snprintf(j->entry, sizeof(j->entry), "%s/%s", j->day, j->base);
	return 0;
}

/* journal_mkdir - make a directory below the journal; fsync the journal if new */
static int
journal_mkdir(struct journal *j, const char *name, char *err, size_t len)
{
	if (mkdirat(j->dirfd, name, 0750) == 0) {
		if (fsync(j->dirfd) == 0)
			return 0;
	} else if (errno == EEXIST) {
		return 0;
	}
	snprintf(err, len, "mkdir %s: %s", name, strerror(errno));
	return -1;
}

/* journal_open - start an entry: DIR/tmp/BASE.eml, empty */
int
journal_open(const char *dir, const char *qid, time_t now, struct journal **jp,
	     char *err, size_t len)
{
	struct journal *j;
	char	path[160];

	*jp = NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	j->fd = -1;
	if ((j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, len, "open %s: %s", dir, strerror(errno));
		free(j);
		return -1;
	}
	*jp = j;
	if (journal_name(j, qid, now, err, len) < 0
	    || journal_mkdir(j, JOURNAL_TMPDIR, err, len) < 0)
		return -1;
	journal_path(j, JOURNAL_TMPDIR, "eml", path, sizeof(path));
	if ((j->fd = openat(j->dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0) {
		snprintf(err, len, "create %s: %s", path, strerror(errno));
		return -1;
	}
	j->have_eml = 1;
	if ((j->md = EVP_MD_CTX_new()) == NULL
	    || EVP_DigestInit_ex(j->md, EVP_sha256(), NULL) != 1) {
		snprintf(err, len, "SHA-256 unavailable");
		return -1;
	}
	return 0;
}

/* write_all - the whole buffer or -1 (errno set; ENOSPC for a short write) */
static int
write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t	w;

	while (n > 0) {
		if ((w = write(fd, s, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		s += w;
		n -= (size_t) w;
	}
	return 0;
}

/* journal_write - append message bytes to the entry */
int
journal_write(struct journal *j, const void *p, size_t n, char *err, size_t len)
{
	if (j->fd < 0) {
		snprintf(err, len, "entry %s is not open", j->entry);
		return -1;
	}
	if (write_all(j->fd, p, n) < 0) {
		snprintf(err, len, "write %s/%s.eml: %s", JOURNAL_TMPDIR, j->base, strerror(errno));
		return -1;
	}
	if (EVP_DigestUpdate(j->md, p, n) != 1) {
		snprintf(err, len, "SHA-256 failed");
		return -1;
	}
	j->size += n;
	return 0;
}

/* journal_entry - "DAY/BASE" */
const char *
journal_entry(const struct journal *j)
{
	return j->entry;
}

/* journal_base - "BASE" */
const char *
journal_base(const struct journal *j)
{
	return j->base;
}

/* journal_finish - the message is complete: fsync it, give its hash and size */
int
journal_finish(struct journal *j, char hex[65], uint64_t *size, char *err, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	int	rc;

	if (j->fd < 0) {
		snprintf(err, len, "entry %s is not open", j->entry);
		return -1;
	}
	rc = fsync(j->fd);
	if (close(j->fd) < 0)
		rc = -1;
	j->fd = -1;
	if (rc < 0) {
		snprintf(err, len, "fsync %s/%s.eml: %s", JOURNAL_TMPDIR, j->base, strerror(errno));
		return -1;
	}
	if (EVP_DigestFinal_ex(j->md, md, &mdlen) != 1 || mdlen != 32) {
		snprintf(err, len, "SHA-256 failed");
		return -1;
	}
	jindex_hex(md, 32, j->eml_hex);
	memcpy(hex, j->eml_hex, 65);
	*size = j->size;
	return 0;
}

/* journal_write_json - DIR/tmp/BASE.json, fsynced */
static int
journal_write_json(struct journal *j, const char *json, size_t n, char *err, size_t len)
{
	char	path[160];
	int	fd, rc;

	journal_path(j, JOURNAL_TMPDIR, "json", path, sizeof(path));
	if ((fd = openat(j->dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0) {
		snprintf(err, len, "create %s: %s", path, strerror(errno));
		return -1;
	}
	j->have_json = 1;
	rc = write_all(fd, json, n) == 0 && fsync(fd) == 0 ? 0 : -1;
	if (close(fd) < 0)
		rc = -1;
	if (rc < 0)
		snprintf(err, len, "write %s: %s", path, strerror(errno));
	return rc;
}

/* journal_move - rename one temporary file into DIR/DAY/, never replacing */
static int
journal_move(struct journal *j, const char *ext, char *err, size_t len)
{
	char	from[160], to[160];
	int	rc;

	journal_path(j, JOURNAL_TMPDIR, ext, from, sizeof(from));
	journal_path(j, j->day, ext, to, sizeof(to));
	rc = renameat2(j->dirfd, from, j->dirfd, to, RENAME_NOREPLACE);
	if (rc < 0 && errno == EINVAL)	/* file system without NOREPLACE */
		rc = renameat(j->dirfd, from, j->dirfd, to);
	if (rc < 0) {
		snprintf(err, len, "rename %s to %s: %s", from, to, strerror(errno));
		return -1;
	}
	return 0;
}

/* journal_sync_day - fsync DIR/DAY so the renames are durable */
static int
journal_sync_day(struct journal *j, char *err, size_t len)
{
	int	fd, rc;

	if ((fd = openat(j->dirfd, j->day, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, len, "open %s: %s", j->day, strerror(errno));
		return -1;
	}
	rc = fsync(fd);
	if (rc < 0)
		snprintf(err, len, "fsync %s: %s", j->day, strerror(errno));
	close(fd);
	return rc;
}

/* journal_unpublish - remove an entry's files from DIR/DAY after a failure */
static void
journal_unpublish(struct journal *j, int n)
{
	char	path[160];

	if (n >= 1) {
		journal_path(j, j->day, "eml", path, sizeof(path));
		(void) unlinkat(j->dirfd, path, 0);
	}
	if (n >= 2) {
		journal_path(j, j->day, "json", path, sizeof(path));
		(void) unlinkat(j->dirfd, path, 0);
	}
	if (n >= 1) {
		char	e[8];

		(void) journal_sync_day(j, e, sizeof(e));
	}
}

/* journal_publish - under the index lock: move, sync, append the index line */
static int
journal_publish(struct journal *j, int ifd, struct jindex_rec *r, char *err, size_t len)
{
	int	moved = 0;

	if (journal_move(j, "eml", err, len) < 0)
		goto fail;
	j->have_eml = 0;
	moved = 1;
	if (journal_move(j, "json", err, len) < 0)
		goto fail;
	j->have_json = 0;
	moved = 2;
	if (journal_sync_day(j, err, len) < 0 || jindex_append(ifd, r, err, len) < 0)
		goto fail;
	return 0;
fail:
	journal_unpublish(j, moved);
	return -1;
}

/* journal_commit - make the entry durable and index it; r gets its line */
int
journal_commit(struct journal *j, const char *json, size_t n, struct jindex_rec *r,
	       char *err, size_t len)
{
	time_t	now = time(NULL);
	struct tm tm;
	int	ifd, rc;

	memset(r, 0, sizeof(*r));
	if (j->fd >= 0 || !j->have_eml || j->committed) {
		snprintf(err, len, "entry %s is not ready to commit", j->entry);
		return -1;
	}
	if (jindex_sha256_hex(json, n, r->json) < 0) {
		snprintf(err, len, "SHA-256 failed");
		return -1;
	}
	if (journal_write_json(j, json, n, err, len) < 0
	    || journal_mkdir(j, j->day, err, len) < 0
	    || jindex_open_locked(j->dirfd, &ifd, err, len) < 0)
		return -1;
	gmtime_r(&now, &tm);
	strftime(r->time, sizeof(r->time), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(r->entry, sizeof(r->entry), "%s", j->entry);
	memcpy(r->eml, j->eml_hex, sizeof(r->eml));
	rc = journal_publish(j, ifd, r, err, len);
	close(ifd);			/* releases the lock */
	if (rc == 0)
		j->committed = 1;
	return rc;
}

/* journal_free - end an entry; removes its temporary files unless committed */
void
journal_free(struct journal *j)
{
	char	path[160];

	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	if (j->have_eml) {
		journal_path(j, JOURNAL_TMPDIR, "eml", path, sizeof(path));
		(void) unlinkat(j->dirfd, path, 0);
	}
	if (j->have_json) {
		journal_path(j, JOURNAL_TMPDIR, "json", path, sizeof(path));
		(void) unlinkat(j->dirfd, path, 0);
	}
	EVP_MD_CTX_free(j->md);
	close(j->dirfd);
	free(j);
}

/* perm_ok - may uid (with primary group gid) do want (rwx bits, 0..7)? */
static int
perm_ok(const struct stat *st, uid_t uid, gid_t gid, unsigned want)
{
	unsigned mode = (unsigned) st->st_mode;

	if (uid == 0)
		return 1;
	if (st->st_uid == uid)
		return ((mode >> 6) & want) == want;
	if (st->st_gid == gid)
		return ((mode >> 3) & want) == want;
	return (mode & want) == want;
}

/* check_path - every ancestor searchable, the directory writable */
static int
check_path(const char *dir, uid_t uid, gid_t gid, const char *who, char *err, size_t len)
{
	char	path[4096];
	struct stat st;
	char   *p;

	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = 0;
		if (stat(path, &st) == 0 && !perm_ok(&st, uid, gid, 1)) {
			snprintf(err, len, "%s cannot reach %s: %s is not searchable by it", who, dir, path);
			return -1;
		}
		*p = '/';
	}
	if (stat(dir, &st) < 0) {
		snprintf(err, len, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, len, "%s is not a directory", dir);
		return -1;
	}
	if (!perm_ok(&st, uid, gid, 3)) {
		snprintf(err, len, "%s is not writable by %s", dir, who);
		return -1;
	}
	return 0;
}

/* check_owned - an existing tmp/ or index must be writable by the user too */
static int
check_owned(const char *dir, const char *name, uid_t uid, gid_t gid, const char *who,
	    char *err, size_t len)
{
	char	path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) < 0)
		return 0;			/* created when first needed */
	if (!perm_ok(&st, uid, gid, S_ISDIR(st.st_mode) ? 3 : 2)) {
		snprintf(err, len, "%s is not writable by %s", path, who);
		return -1;
	}
	return 0;
}

/* run_as - the uid and gid the daemon will run as */
static int
run_as(const char *user, const char *group, uid_t *uid, gid_t *gid, char *err, size_t len)
{
	struct passwd *pw;
	struct group *gr;

	*uid = geteuid();
	*gid = getegid();
	if (user == NULL || *user == 0 || getuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, len, "user \"%s\" does not exist", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (group && *group) {
		if ((gr = getgrnam(group)) == NULL) {
			snprintf(err, len, "group \"%s\" does not exist", group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/*
 * journal_dir_check - will user:group (the run-as identity; the current
 * one when not root or no user is set) be able to write dir? Absolute,
 * existing, a directory, on a writable file system, reachable and writable.
 */
int
journal_dir_check(const char *dir, const char *user, const char *group, char *err, size_t len)
{
	char	who[300];
	struct statvfs sv;
	uid_t	uid;
	gid_t	gid;

	if (*dir != '/' || strlen(dir) > 1024) {
		snprintf(err, len, "\"%.100s\": give an absolute path of at most 1024 bytes", dir);
		return -1;
	}
	if (run_as(user, group, &uid, &gid, err, len) < 0)
		return -1;
	snprintf(who, sizeof(who), "user %s (uid %ld)", user && *user && getuid() == 0 ?
		 user : "running mailwarden", (long) uid);
	if (check_path(dir, uid, gid, who, err, len) < 0
	    || check_owned(dir, JOURNAL_TMPDIR, uid, gid, who, err, len) < 0
	    || check_owned(dir, JINDEX_FILE, uid, gid, who, err, len) < 0)
		return -1;
	if (statvfs(dir, &sv) == 0 && (sv.f_flag & ST_RDONLY)) {
		snprintf(err, len, "%s is on a read-only file system", dir);
		return -1;
	}
	if (getuid() != 0 && faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0) {
		snprintf(err, len, "%s is not writable by %s: %s", dir, who, strerror(errno));
		return -1;
	}
	return 0;
}
