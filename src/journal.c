/*
 * NAME
 *	journal.c - write journal entries crash-safely
 * DESCRIPTION
 *	journal_open() creates DIR/tmp/BASE.eml (O_EXCL); journal_write()
 *	appends to it and feeds SHA-256 as the message streams in, so no
 *	message is ever held whole in memory. journal_finish() fdatasyncs
 *	it. journal_commit() writes DIR/tmp/BASE.json the same way and hands
 *	the entry to the directory's writer (jwriter.c), which, under the
 *	index lock and batched with other threads' entries, renames both
 *	into DIR/DAY/ (journal_publish: never replacing a file), fsyncs
 *	DIR/DAY and appends the index line (fdatasynced). Only then may the
 *	message be accepted. Any failure removes what this entry created, so
 *	a failed entry leaves neither files nor an index line behind.
 *
 *	DIR/tmp/ and DIR/DAY/ are made only when a create or rename finds
 *	them missing: nothing is made or looked up per message otherwise.
 *
 *	(Unnamed O_TMPFILE files linked into place were tried: no cheaper
 *	here, and on a file system without a journal the directory fsync
 *	does not make the linked inode's link count durable.)
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

/* One file of an entry: BASE.eml or BASE.json. */
struct jfile {
	const char *ext;
	int	fd;			/* open while being written */
	int	named;			/* DIR/tmp/BASE.ext exists: remove on failure */
	int	published;		/* renamed to DIR/DAY/BASE.ext by this entry */
};

struct journal {
	struct jwriter *w;
	int	dirfd;			/* the journal directory */
	dev_t	dev;			/* ... and what it is */
	ino_t	ino;
	int	finished;		/* the message is complete: no more writes */
	int	eml_ready, json_ready;	/* written and synced */
	int	committed;
	struct jfile eml, json;
	char	day[11];		/* YYYY-MM-DD */
	char	base[96];
	char	entry[JINDEX_MAX_ENTRY];	/* DAY/BASE */
	EVP_MD_CTX *md;
	uint64_t size;
	char	eml_hex[65];
};

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
journal_mkdir(int dirfd, const char *name, char *err, size_t len)
{
	if (mkdirat(dirfd, name, 0750) == 0) {
		if (fsync(dirfd) == 0)
			return 0;
	} else if (errno == EEXIST) {
		return 0;
	}
	snprintf(err, len, "mkdir %s: %s", name, strerror(errno));
	return -1;
}

/* journal_tmppath - "tmp/BASE.ext" */
static void
journal_tmppath(const struct journal *j, const struct jfile *f, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.%s", JOURNAL_TMPDIR, j->base, f->ext);
}

/* journal_openat - one attempt at DIR/tmp/BASE.ext; fd or -1 (errno) */
static int
journal_openat(const struct journal *j, const struct jfile *f)
{
	char	path[160];

	journal_tmppath(j, f, path, sizeof(path));
	return openat(j->dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
}

/* journal_create - DIR/tmp/BASE.ext, new; DIR/tmp made if missing */
static int
journal_create(struct journal *j, struct jfile *f, char *err, size_t len)
{
	char	path[160];

	if ((f->fd = journal_openat(j, f)) < 0 && errno == ENOENT) {
		if (journal_mkdir(j->dirfd, JOURNAL_TMPDIR, err, len) < 0)
			return -1;
		f->fd = journal_openat(j, f);
	}
	if (f->fd < 0) {
		journal_tmppath(j, f, path, sizeof(path));
		snprintf(err, len, "create %s: %s", path, strerror(errno));
		return -1;
	}
	f->named = 1;
	return 0;
}

/* journal_dir_open - the journal directory, and what it is */
static int
journal_dir_open(struct journal *j, const char *dir, char *err, size_t len)
{
	struct stat st;

	if ((j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
	    || fstat(j->dirfd, &st) < 0) {
		snprintf(err, len, "open %s: %s", dir, strerror(errno));
		return -1;
	}
	j->dev = st.st_dev;
	j->ino = st.st_ino;
	return 0;
}

/* journal_open - start an entry: DIR/tmp/BASE.eml, empty */
int
journal_open(struct jwriter *w, const char *qid, time_t now, struct journal **jp,
	     char *err, size_t len)
{
	struct journal *j;

	if ((*jp = j = calloc(1, sizeof(*j))) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	j->w = w;
	j->eml.fd = j->json.fd = -1;
	j->eml.ext = "eml";
	j->json.ext = "json";
	if (journal_dir_open(j, jwriter_dir(w), err, len) < 0
	    || journal_name(j, qid, now, err, len) < 0
	    || journal_create(j, &j->eml, err, len) < 0)
		return -1;
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
	if (j->eml.fd < 0 || j->finished) {
		snprintf(err, len, "entry %s is not open", j->entry);
		return -1;
	}
	if (write_all(j->eml.fd, p, n) < 0) {
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

/* journal_day - "DAY" */
const char *
journal_day(const struct journal *j)
{
	return j->day;
}

/* journal_dirfd - the journal directory the entry is written in */
int
journal_dirfd(const struct journal *j)
{
	return j->dirfd;
}

/* journal_same_dir - were both entries written in the same directory? */
int
journal_same_dir(const struct journal *a, const struct journal *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/* journal_sync - fdatasync and close a complete temporary file */
static int
journal_sync(struct journal *j, struct jfile *f, char *err, size_t len)
{
	int	rc = fdatasync(f->fd);

	if (close(f->fd) < 0)
		rc = -1;
	f->fd = -1;
	if (rc < 0)
		snprintf(err, len, "fsync %s/%s.%s: %s", JOURNAL_TMPDIR, j->base, f->ext,
			 strerror(errno));
	return rc;
}

/* journal_finish - the message is complete: sync it, give its hash and size */
int
journal_finish(struct journal *j, char hex[65], uint64_t *size, char *err, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	if (j->eml.fd < 0 || j->finished) {
		snprintf(err, len, "entry %s is not open", j->entry);
		return -1;
	}
	j->finished = 1;
	if (journal_sync(j, &j->eml, err, len) < 0)
		return -1;
	if (EVP_DigestFinal_ex(j->md, md, &mdlen) != 1 || mdlen != 32) {
		snprintf(err, len, "SHA-256 failed");
		return -1;
	}
	jindex_hex(md, 32, j->eml_hex);
	j->eml_ready = 1;
	memcpy(hex, j->eml_hex, 65);
	*size = j->size;
	return 0;
}

/* journal_write_json - the envelope record's temporary file, synced */
static int
journal_write_json(struct journal *j, const char *json, size_t n, char *err, size_t len)
{
	if (journal_create(j, &j->json, err, len) < 0)
		return -1;
	if (write_all(j->json.fd, json, n) < 0) {
		snprintf(err, len, "write %s/%s.json: %s", JOURNAL_TMPDIR, j->base, strerror(errno));
		return -1;
	}
	if (journal_sync(j, &j->json, err, len) < 0)
		return -1;
	j->json_ready = 1;
	return 0;
}

/* journal_move - rename DIR/tmp/BASE.ext to DAY/BASE.ext (dayfd), never replacing */
static int
journal_move(struct journal *j, struct jfile *f, int dayfd, char *err, size_t len)
{
	char	from[160], to[128];
	int	rc;

	journal_tmppath(j, f, from, sizeof(from));
	snprintf(to, sizeof(to), "%s.%s", j->base, f->ext);
	rc = renameat2(j->dirfd, from, dayfd, to, RENAME_NOREPLACE);
	if (rc < 0 && errno == EINVAL)	/* file system without NOREPLACE */
		rc = renameat(j->dirfd, from, dayfd, to);
	if (rc < 0) {
		snprintf(err, len, "rename %s to %s/%s: %s", from, j->day, to, strerror(errno));
		return -1;
	}
	f->named = 0;
	f->published = 1;
	return 0;
}

/* journal_remove - remove one file this entry put in DIR/DAY */
static void
journal_remove(struct journal *j, struct jfile *f)
{
	char	path[160];

	if (!f->published)
		return;
	snprintf(path, sizeof(path), "%s/%s.%s", j->day, j->base, f->ext);
	(void) unlinkat(j->dirfd, path, 0);
	f->published = 0;
}

/*
 * journal_publish - for the writer, under the index lock: move both files
 * into DIR/DAY (dayfd); the caller fsyncs dayfd. On failure nothing is left
 * there.
 */
int
journal_publish(struct journal *j, int dayfd, char *err, size_t len)
{
	if (!j->eml_ready || !j->json_ready || j->eml.published || j->json.published) {
		snprintf(err, len, "entry %s is not ready to commit", j->entry);
		return -1;
	}
	if (journal_move(j, &j->eml, dayfd, err, len) < 0)
		return -1;
	if (journal_move(j, &j->json, dayfd, err, len) < 0) {
		journal_remove(j, &j->eml);
		return -1;
	}
	return 0;
}

/* journal_unpublish - for the writer: undo journal_publish after a later failure */
void
journal_unpublish(struct journal *j)
{
	int	fd;

	if (!j->eml.published && !j->json.published)
		return;
	journal_remove(j, &j->eml);
	journal_remove(j, &j->json);
	if ((fd = openat(j->dirfd, j->day, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void) fsync(fd);
		close(fd);
	}
}

/* journal_commit - make the entry durable and index it; r gets its line */
int
journal_commit(struct journal *j, const char *json, size_t n, struct jindex_rec *r,
	       char *err, size_t len)
{
	time_t	now = time(NULL);
	struct tm tm;

	memset(r, 0, sizeof(*r));
	if (!j->eml_ready || j->committed || j->json_ready || j->json.named
	    || j->json.fd >= 0) {
		snprintf(err, len, "entry %s is not ready to commit", j->entry);
		return -1;
	}
	if (jindex_sha256_hex(json, n, r->json) < 0) {
		snprintf(err, len, "SHA-256 failed");
		return -1;
	}
	if (journal_write_json(j, json, n, err, len) < 0)
		return -1;
	gmtime_r(&now, &tm);
	strftime(r->time, sizeof(r->time), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(r->entry, sizeof(r->entry), "%s", j->entry);
	memcpy(r->eml, j->eml_hex, sizeof(r->eml));
	if (jwriter_commit(j->w, j, r, err, len) < 0)
		return -1;
	j->committed = 1;
	return 0;
}

/* journal_drop - close a temporary file; remove it if it has a name */
static void
journal_drop(struct journal *j, struct jfile *f)
{
	char	path[160];

	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->named) {
		journal_tmppath(j, f, path, sizeof(path));
		(void) unlinkat(j->dirfd, path, 0);
	}
}

/* journal_free - end an entry; removes its temporary files unless committed */
void
journal_free(struct journal *j)
{
	if (j == NULL)
		return;
	journal_drop(j, &j->eml);
	journal_drop(j, &j->json);
	EVP_MD_CTX_free(j->md);
	if (j->dirfd >= 0)
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
