/*
 * NAME
 *	keytable.c - import OpenDKIM's KeyTable and SigningTable files
 * DESCRIPTION
 *	The plain-file forms as OpenDKIM reads them: '#' starts a comment,
 *	blank lines are skipped, the first word of a line is the key and the
 *	rest the value. Lines are at most KEYTABLE_MAX_LINE bytes; a longer
 *	one is an error, never cut.
 *
 *	KeyTable: "name domain:selector:/absolute/path". A domain of "%"
 *	means the From domain of each message, as in OpenDKIM. Key data
 *	written into the table itself and relative paths are refused: keys
 *	belong in files whose permissions can be checked.
 *
 *	SigningTable: "pattern name". Patterns are the domain ones of the
 *	plain form (domain, .parent); the refile forms that most installations
 *	use, "*@domain" and "*@*.parent", are read as "domain" and ".parent".
 *	Several lines with one pattern give that pattern several keys (RSA
 *	and Ed25519: two signatures, what OpenDKIM does with
 *	MultipleSignatures). Per-user patterns (user@domain: mailwarden signs
 *	by the From domain, which is what DMARC aligns), other wildcards and
 *	OpenDKIM's signer column (i=) are refused with a message, never
 *	silently ignored.
 *
 *	Only the keys the SigningTable uses are loaded.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keytable.h"
#include "options.h"

#define KEYTABLE_MAX_LINE 4096
#define SIGNTAB_ORIGIN "SigningTable"

struct kt_entry {
	char   *name;
	char   *value;			/* domain:selector:path, split in place */
	char   *domain, *selector, *path;
	int	line;
	struct keys_key *key;		/* loaded on first use */
	int	failed;			/* loading failed: reported once */
};

struct kt {
	const char *ktfile, *stfile;	/* for messages */
	const struct keytable_opts *o;
	struct signtab *tab;		/* what the SigningTable fills */
	struct kt_entry *v;
	unsigned n, cap;
	int	errors;
};

/* kt_report - one problem, "TABLE FILE:LINE: text" */
static void
kt_report(struct kt *t, const char *table, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
kt_report(struct kt *t, const char *table, int line, const char *fmt, ...)
{
	char	text[1024], msg[1400];
	const char *file;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	file = strcmp(table, "KeyTable") == 0 ? t->ktfile : t->stfile;
	if (line > 0)
		snprintf(msg, sizeof(msg), "%s %s:%d: %s", table, file, line, text);
	else
		snprintf(msg, sizeof(msg), "%s %s: %s", table, file, text);
	t->errors++;
	t->o->report(t->o->arg, msg);
}

/* kt_split - "key value": strip the comment, split at white space */
static int
kt_split(char *line, char **key, char **value)
{
	char   *p;

	if ((p = strchr(line, '#')) != NULL)
		*p = 0;
	line += strspn(line, " \t\r\n");
	for (p = line + strlen(line); p > line && isspace((unsigned char) p[-1]);)
		*--p = 0;
	if (*line == 0)
		return 0;		/* blank or comment */
	*key = line;
	p = line + strcspn(line, " \t");
	if (*p)
		*p++ = 0;
	*value = p + strspn(p, " \t");
	return 1;
}

/* kt_read - call fn for each "key value" line of a file; -1 when unreadable */
static int
kt_read(struct kt *t, const char *table, const char *path,
	void (*fn)(struct kt *, char *, char *, int))
{
	char	buf[KEYTABLE_MAX_LINE + 2], *key, *value;
	FILE   *fp;
	int	line = 0, toolong = 0;
	long	start;

	if ((fp = fopen(path, "r")) == NULL) {
		kt_report(t, table, 0, "%s", strerror(errno));
		return -1;
	}
	/* The bytes read come from the file offset: a NUL byte hides no newline. */
	while ((start = ftell(fp)) >= 0 && fgets(buf, sizeof(buf), fp) != NULL) {
		size_t	got = (size_t) (ftell(fp) - start);
		int	whole = (got > 0 && buf[got - 1] == '\n') || feof(fp);

		if (!toolong)
			line++;
		if (!whole || toolong) {
			if (!toolong)
				kt_report(t, table, line, "line longer than %d bytes", KEYTABLE_MAX_LINE);
			toolong = !whole;
			continue;
		}
		if (memchr(buf, 0, got) != NULL)
			kt_report(t, table, line, "line holds a NUL byte");
		else if (kt_split(buf, &key, &value))
			fn(t, key, value, line);
	}
	if (ferror(fp) || start < 0)
		kt_report(t, table, 0, "read error (a regular file is needed)");
	fclose(fp);
	return 0;
}

/* keytable_selector_ok - labels of letters, digits, '-', '_', dot-separated */
int
keytable_selector_ok(const char *s)
{
	const char *p;
	size_t	label = 0;

	for (p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char) *p) || *p == '-' || *p == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && p - s <= 253;
}

/* kt_value_ok - domain:selector:/path split and checked; -1 reported */
static int
kt_value_ok(struct kt *t, struct kt_entry *e)
{
	char	err[256];
	char   *c1 = strchr(e->value, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

	if (c2 == NULL) {
		kt_report(t, "KeyTable", e->line, "\"%s\": write domain:selector:/path/to/key",
			  e->name);
		return -1;
	}
	*c1 = *c2 = 0;
	e->domain = e->value;
	e->selector = c1 + 1;
	e->path = c2 + 1;
	if (strcmp(e->domain, "%") != 0 && opt_check_domain(e->domain, err, sizeof(err)) < 0)
		kt_report(t, "KeyTable", e->line, "%s", err);
	else if (!keytable_selector_ok(e->selector))
		kt_report(t, "KeyTable", e->line, "\"%s\" is not a selector", e->selector);
	else if (*e->path != '/')
		kt_report(t, "KeyTable", e->line, "\"%s\": give the key as an absolute file "
			  "path (key data in the table and relative paths are not supported)",
			  e->name);
	else
		return 0;
	return -1;
}

/* kt_keyline - one KeyTable line */
static void
kt_keyline(struct kt *t, char *name, char *value, int line)
{
	struct kt_entry *e;

	if (t->n == t->cap) {
		unsigned cap = t->cap ? 2 * t->cap : 64;
		struct kt_entry *v = realloc(t->v, cap * sizeof(*v));

		if (v == NULL) {
			kt_report(t, "KeyTable", line, "out of memory");
			return;
		}
		t->v = v;
		t->cap = cap;
	}
	e = &t->v[t->n];
	memset(e, 0, sizeof(*e));
	e->line = line;
	if ((e->name = strdup(name)) == NULL || (e->value = strdup(value)) == NULL) {
		free(e->name);
		kt_report(t, "KeyTable", line, "out of memory");
		return;
	}
	if (kt_value_ok(t, e) < 0) {
		free(e->name);
		free(e->value);
		return;
	}
	t->n++;
}

/* kt_cmp - order entries by name, then line */
static int
kt_cmp(const void *a, const void *b)
{
	const struct kt_entry *x = a, *y = b;
	int	c = strcmp(x->name, y->name);

	return c ? c : x->line - y->line;
}

/* kt_index - sort for lookups; report duplicate names */
static void
kt_index(struct kt *t)
{
	unsigned i;

	if (t->n > 1)		/* qsort(NULL, 0) is undefined */
		qsort(t->v, t->n, sizeof(*t->v), kt_cmp);
	for (i = 1; i < t->n; i++)
		if (strcmp(t->v[i].name, t->v[i - 1].name) == 0)
			kt_report(t, "KeyTable", t->v[i].line, "key name \"%s\" already given "
				  "on line %d", t->v[i].name, t->v[i - 1].line);
}

/* kt_find - the KeyTable entry of a name (binary search), or NULL */
static struct kt_entry *
kt_find(struct kt *t, const char *name)
{
	size_t	lo = 0, hi = t->n;

	while (lo < hi) {
		size_t	mid = (lo + hi) / 2;
		int	c = strcmp(t->v[mid].name, name);

		if (c == 0)
			return &t->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* kt_pattern - the plain pattern of a SigningTable key; NULL reported */
static const char *
kt_pattern(struct kt *t, const char *pat, int line)
{
	char	err[256];

	if (strncmp(pat, "*@*.", 4) == 0)
		pat += 3;		/* "*@*.example.com" -> ".example.com" */
	else if (strncmp(pat, "*@", 2) == 0)
		pat += 2;		/* "*@example.com" -> "example.com" */
	if (strchr(pat, '@') != NULL) {
		kt_report(t, SIGNTAB_ORIGIN, line, "pattern \"%s\": per-user patterns are not "
			  "supported (mailwarden signs by the From domain): write the domain", pat);
		return NULL;
	}
	if (*pat == 0 || strpbrk(pat, "*?[]()|\\^$+") != NULL) {
		kt_report(t, SIGNTAB_ORIGIN, line, "pattern \"%s\": only domain, .parent, "
			  "*@domain and *@*.parent are supported", pat);
		return NULL;
	}
	if (opt_check_hostname(pat + (*pat == '.'), err, sizeof(err)) < 0) {
		kt_report(t, SIGNTAB_ORIGIN, line, "pattern %s", err);
		return NULL;
	}
	return pat;
}

/* kt_load - the loaded key of a KeyTable entry, or NULL (reported once) */
static struct keys_key *
kt_load(struct kt *t, struct kt_entry *e)
{
	char	err[1024];
	struct keys_key *k;

	if (e->key || e->failed)
		return e->key;
	if ((k = signtab_key_new(t->tab)) == NULL
	    || (k->selector = strdup(e->selector)) == NULL
	    || (strcmp(e->domain, "%") != 0 && (k->domain = strdup(e->domain)) == NULL)) {
		snprintf(err, sizeof(err), "out of memory");
	} else if (keys_load(k, e->path, t->o->require_safe, t->o->owner, err, sizeof(err)) == 0) {
		return e->key = k;
	}
	e->failed = 1;
	kt_report(t, "KeyTable", e->line, "%s", err);
	return NULL;
}

/* kt_signline - one SigningTable line */
static void
kt_signline(struct kt *t, char *pat, char *value, int line)
{
	char	name[KEYTABLE_MAX_LINE], err[512];
	const char *p;
	struct kt_entry *e;
	struct keys_key *k;
	size_t	n = strcspn(value, " \t");

	if (value[n] != 0) {
		kt_report(t, SIGNTAB_ORIGIN, line, "the signer column (i=) is not supported");
		return;
	}
	memcpy(name, value, n + 1);
	if ((p = kt_pattern(t, pat, line)) == NULL)
		return;
	if (*name == 0 || (e = kt_find(t, name)) == NULL) {
		kt_report(t, SIGNTAB_ORIGIN, line, "key name \"%s\" is not in the KeyTable", name);
		return;
	}
	if ((k = kt_load(t, e)) != NULL
	    && signtab_add(t->tab, p, k, SIGNTAB_ORIGIN, err, sizeof(err)) < 0)
		kt_report(t, SIGNTAB_ORIGIN, line, "%s", err);
}

/* kt_free - the KeyTable entries (loaded keys belong to the signing table) */
static void
kt_free(struct kt *t)
{
	unsigned i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].value);
	}
	free(t->v);
}

/* keytable_import - both tables into a signing table; -1 on any error */
int
keytable_import(struct signtab *tab, const char *keytable,
		const char *signingtable, const struct keytable_opts *o)
{
	struct kt t = {0};

	t.o = o;
	t.tab = tab;
	t.ktfile = keytable;
	t.stfile = signingtable;
	if (kt_read(&t, "KeyTable", keytable, kt_keyline) == 0) {
		kt_index(&t);
		kt_read(&t, SIGNTAB_ORIGIN, signingtable, kt_signline);
	}
	kt_free(&t);
	return t.errors ? -1 : 0;
}
