/*
 * NAME
 *	config.c - parse the configuration file into a snapshot
 * DESCRIPTION
 *	libconfuse does the parsing; its option tree is built at run time
 *	from the one option table (options.c), and every value is checked
 *	against that table by one validation callback.
 *
 *	libconfuse stops at the first hard error (an unknown option, a value
 *	of the wrong type, a syntax error). To report every error of a file
 *	at once, as "mailwarden -n" promises, a failed parse records the
 *	error, blanks the offending line of an in-memory copy, and parses
 *	again; soft errors (bounds, forms) are found by the validation
 *	callback, which records them and lets parsing go on.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "dns.h"
#include "options.h"

#define CONF_MAX_ERRORS	100		/* stop reporting after this many */
#define CONF_MAX_SIZE	(4 * 1024 * 1024)

/* Load state; loads are serialized by load_lock. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conf_errors *cur_errs;	/* where errors go */
static const char *cur_path;
static const char *cur_buf;
static int hard_line;			/* line of the last hard error */
static int in_validate;

/* The current snapshot. */
static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mw_conf *current;

static cfg_opt_t *root_opts;
static pthread_once_t opts_once = PTHREAD_ONCE_INIT;

/* errors_add - keep one error */
static void
errors_add(struct conf_errors *e, int line, const char *text)
{
	char  **nm;
	int    *nl;
	char   *s;
	size_t	len;

	if (e->n >= CONF_MAX_ERRORS)
		return;
	len = strlen(cur_path) + strlen(text) + 32;
	for (unsigned i = 0; i < e->n; i++)	/* list callbacks repeat themselves */
		if (e->line[i] == line && strstr(e->msg[i], text) != NULL)
			return;
	if ((s = malloc(len)) == NULL)
		return;
	if (line > 0)
		snprintf(s, len, "%s:%d: %s", cur_path, line, text);
	else
		snprintf(s, len, "%s: %s", cur_path, text);
	nm = realloc(e->msg, (e->n + 1) * sizeof(*nm));
	if (nm == NULL) {
		free(s);
		return;
	}
	e->msg = nm;
	nl = realloc(e->line, (e->n + 1) * sizeof(*nl));
	if (nl == NULL) {
		free(s);
		return;
	}
	e->line = nl;
	e->msg[e->n] = s;
	e->line[e->n++] = line;
}

/* errors_vadd - format and keep one error */
static void
errors_vadd(int line, const char *fmt, va_list ap)
{
	char	text[1024];

	vsnprintf(text, sizeof(text), fmt, ap);
	errors_add(cur_errs, line, text);
}

/* conf_errors_free - release collected errors; safe to call twice */
void
conf_errors_free(struct conf_errors *e)
{
	unsigned i;

	for (i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	free(e->line);
	memset(e, 0, sizeof(*e));
}

/* conf_errors_print - one error a line */
void
conf_errors_print(const struct conf_errors *e, FILE *fp)
{
	unsigned i;

	for (i = 0; i < e->n; i++)
		fprintf(fp, "%s\n", e->msg[i]);
}

/* errors_sort - line order, stable */
static void
errors_sort(struct conf_errors *e)
{
	unsigned i, j;

	for (i = 1; i < e->n; i++)
		for (j = i; j > 0 && e->line[j - 1] > e->line[j]; j--) {
			char   *m = e->msg[j];
			int	l = e->line[j];

			e->msg[j] = e->msg[j - 1];
			e->line[j] = e->line[j - 1];
			e->msg[j - 1] = m;
			e->line[j - 1] = l;
		}
}

/* parse_errfunc - libconfuse reports an error */
static void
parse_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	char	text[1024];
	const char *p;

	vsnprintf(text, sizeof(text), fmt, ap);
	if (!in_validate)
		hard_line = cfg->line > 0 ? cfg->line : -1;
	/* libconfuse says "no such option 'x'": say what an admin looks for. */
	if ((p = strstr(text, "no such option")) != NULL) {
		char	fixed[1100];

		snprintf(fixed, sizeof(fixed), "unknown option%s", p + strlen("no such option"));
		errors_add(cur_errs, cfg->line, fixed);
		return;
	}
	errors_add(cur_errs, cfg->line, text);
}

/*
 * section_line - the line that opens a section ("sign \"example.com\" {"),
 * where an admin looks; libconfuse keeps only the line that closes it.
 */
static int
section_line(cfg_t *sec)
{
	const char *title = cfg_title(sec), *p, *q;
	size_t	nlen = strlen(sec->name);
	int	line = 1;

	if (title == NULL || cur_buf == NULL)
		return sec->line;
	for (p = cur_buf; *p; line++) {
		q = p + strspn(p, " \t");
		if (strncmp(q, sec->name, nlen) == 0 && strchr(" \t", q[nlen]) != NULL) {
			q += nlen + strspn(q + nlen, " \t");
			q += *q == '"';
			if (strncmp(q, title, strlen(title)) == 0
			    && strchr("\" \t{", q[strlen(title)]) != NULL)
				return line;
		}
		if ((p = strchr(p, '\n')) == NULL)
			break;
		p++;
	}
	return sec->line;
}

/* conf_error - a stage reports an error in a section */
void
conf_error(cfg_t *sec, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errors_vadd(sec ? section_line(sec) : 0, fmt, ap);
	va_end(ap);
}

/* opt_line - the line of the last top-level "name =" in the file, or 0 */
static int
opt_line(const char *name)
{
	const char *p;
	size_t	nlen = strlen(name);
	int	line = 1, found = 0;

	for (p = cur_buf; p && *p; line++) {
		const char *q = p + strspn(p, " \t");

		if (strncmp(q, name, nlen) == 0
		    && strchr(" \t=+", q[nlen]) != NULL)
			found = line;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return found;
}

/* conf_error_opt - a stage reports an error in a top-level option */
void
conf_error_opt(const char *option, const char *fmt, ...)
{
	char	text[1024];
	int	n;
	va_list ap;

	n = snprintf(text, sizeof(text), "option '%s': ", option);
	va_start(ap, fmt);
	vsnprintf(text + n, sizeof(text) - n, fmt, ap);
	va_end(ap);
	errors_add(cur_errs, opt_line(option), text);
}

/* section_leaf - "sign|key" -> "key" */
static const char *
section_leaf(const char *section)
{
	const char *p = strrchr(section, '|');

	return p ? p + 1 : section;
}

/* option_find - the table row of an option in a section ("" = top) */
const struct mw_option *
option_find(const char *section, const char *name)
{
	const struct mw_option *o;

	for (o = mw_options; o->name; o++)
		if (strcmp(o->name, name) == 0
		    && (strcmp(o->section, section) == 0
			|| strcmp(section_leaf(o->section), section) == 0))
			return o;
	return NULL;
}

/* option_enum_index - position of a word in "a|b|c", or -1 */
int
option_enum_index(const struct mw_option *o, const char *word)
{
	const char *p = o->values;
	size_t	len = strlen(word);
	int	i = 0;

	while (p && *p) {
		const char *end = strchr(p, '|');
		size_t	n = end ? (size_t) (end - p) : strlen(p);

		if (n == len && strncmp(p, word, n) == 0)
			return i;
		i++;
		p = end ? end + 1 : NULL;
	}
	return -1;
}

/* check_string - form of one string value; 0 or -1 with err */
static int
check_string(const struct mw_option *o, const char *v, char *err, size_t len)
{
	struct cidr c;

	if (o->values && option_enum_index(o, v) < 0) {
		snprintf(err, len, "\"%.100s\" is not one of %s", v, o->values);
		return -1;
	}
	if (o->type == MW_T_CIDRS)
		return cidr_parse(v, &c, err, len);
	if (o->check && *v)
		return o->check(v, err, len);
	return 0;
}

/* opt_validate - libconfuse callback: check a value against the table */
static int
opt_validate(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *sec = strcmp(cfg->name, "root") == 0 ? "" : cfg->name;
	const struct mw_option *o = option_find(sec, opt->name);
	char	err[512];
	unsigned i;

	if (o == NULL)
		return 0;
	in_validate = 1;
	for (i = 0; i < cfg_opt_size(opt); i++) {
		if (o->type == MW_T_INT) {
			long	v = cfg_opt_getnint(opt, i);

			if (v < o->min || v > o->max)
				cfg_error(cfg, "option '%s': %ld is out of range %ld..%ld",
					  o->name, v, o->min, o->max);
		} else if (o->type != MW_T_BOOL) {
			const char *v = cfg_opt_getnstr(opt, i);

			if (v && check_string(o, v, err, sizeof(err)) < 0)
				cfg_error(cfg, "option '%s': %s", o->name, err);
		}
	}
	in_validate = 0;
	return 0;			/* keep parsing; the error is recorded */
}

/* opts_build - libconfuse option array of one section */
static cfg_opt_t *
opts_build(const char *section)
{
	const struct mw_option *o;
	cfg_opt_t *v;
	size_t	n = 0, i = 0;

	for (o = mw_options; o->name; o++)
		if (strcmp(o->section, section) == 0)
			n++;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (o = mw_options; o->name; o++) {
		cfg_opt_t *c;

		if (strcmp(o->section, section) != 0)
			continue;
		c = &v[i++];
		c->name = o->name;
		c->validcb = opt_validate;
		switch (o->type) {
		case MW_T_INT:
			c->type = CFGT_INT;
			c->def.number = strtol(o->def, NULL, 0);
			break;
		case MW_T_BOOL:
			c->type = CFGT_BOOL;
			c->def.boolean = strcmp(o->def, "yes") == 0 ? cfg_true : cfg_false;
			break;
		case MW_T_STR:
		case MW_T_ENUM:
			c->type = CFGT_STR;
			c->def.string = o->def;
			break;
		case MW_T_LIST:
		case MW_T_CIDRS:
			c->type = CFGT_STR;
			c->flags = CFGF_LIST;
			c->def.parsed = (char *) o->def;
			break;
		case MW_T_SECTION:{
				char	sub[128];

				snprintf(sub, sizeof(sub), "%s%s%s", section,
					 *section ? "|" : "", o->name);
				c->type = CFGT_SEC;
				c->flags = CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES;
				c->subopts = opts_build(sub);
				c->validcb = NULL;
				break;
			}
		}
	}
	return v;
}

/* opts_init - build the option tree once */
static void
opts_init(void)
{
	root_opts = opts_build("");
}

/* read_file - the whole file, NUL-terminated; NULL with an error */
static char *
read_file(const char *path)
{
	FILE   *fp;
	char   *buf;
	size_t	n;
	struct stat st;

	if ((fp = fopen(path, "r")) == NULL) {
		errors_add(cur_errs, 0, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)
	    || st.st_size > CONF_MAX_SIZE) {
		errors_add(cur_errs, 0, "not a regular file of at most 4 MB");
		fclose(fp);
		return NULL;
	}
	if ((buf = malloc((size_t) st.st_size + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	n = fread(buf, 1, (size_t) st.st_size, fp);
	buf[n] = 0;
	fclose(fp);
	if (memchr(buf, 0, n) != NULL) {
		errors_add(cur_errs, 0, "file contains a NUL byte");
		free(buf);
		return NULL;
	}
	return buf;
}

/* word_char - a byte libconfuse 3.3 takes into an unquoted word */
static int
word_char(char c)
{
	return c && strchr(" #\"'\t\n\r={}()+,*", c) == NULL;
}

/* blank_until - blank p up to the end mark (kept), newlines kept; the end or NUL */
static char *
blank_until(char *p, const char *mark)
{
	size_t	n = strlen(mark);

	for (; *p && strncmp(p, mark, n) != 0; p++)
		if (*p != '\n')
			*p = ' ';
	return p;
}

/*
 * blank_comments - replace #, // and slash-star comments by spaces, keeping
 * newlines. libconfuse 3.3 miscounts lines after a comment (each one adds
 * two), which would put wrong line numbers on every later error. As in
 * its lexer, "//" and slash-star inside an unquoted word are part of it
 * (unix:/run//mw.sock is one value). It runs again after each line
 * blanked for an error: a quote on that line may have hidden comments.
 */
static void
blank_comments(char *buf)
{
	char	quote = 0, *p;

	for (p = buf; *p; p++) {
		if (quote) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '#' || (*p == '/' && p[1] == '/' && (p == buf || !word_char(p[-1])))) {
			if (*(p = blank_until(p, "\n")) == 0)
				break;
		} else if (*p == '/' && p[1] == '*' && (p == buf || !word_char(p[-1]))) {
			p[0] = p[1] = ' ';	/* "/" "*" "/" does not close it */
			if (*(p = blank_until(p + 2, "*/")) == 0)
				break;
			p[0] = p[1] = ' ';
			p++;
		}
	}
}

/*
 * unclosed_section - the line of the outermost "{" that no "}" closes, or
 * 0. libconfuse 3.3 takes the end of the file for the end of any open
 * section, so a file cut short (a partial copy) would load without the
 * rest of its rules. Comments must be blanked already.
 */
static int
unclosed_section(const char *p)
{
	char	quote = 0;
	int	line = 1, depth = 0, open_line = 0;

	for (; *p; p++) {
		if (*p == '\n')
			line++;
		if (quote) {
			if (*p == '\\' && p[1])
				line += *++p == '\n';
			else if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '{' && depth++ == 0) {
			open_line = line;
		} else if (*p == '}' && depth > 0) {
			depth--;
		}
	}
	return depth > 0 ? open_line : 0;
}

/* blank_line - replace one line of buf with spaces; 0 if there was one */
static int
blank_line(char *buf, int line)
{
	char   *p = buf;
	int	blanked = 0;

	while (--line > 0 && p)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	for (; p && *p && *p != '\n'; p++)
		if (*p != ' ') {
			*p = ' ';
			blanked = 1;
		}
	return blanked ? 0 : -1;
}

/* parse_all - parse, collecting every error; the tree, or NULL */
static cfg_t *
parse_all(char *buf, int *failed)
{
	cfg_t  *cfg;
	int	tries;

	*failed = 0;
	for (tries = 0; tries < CONF_MAX_ERRORS; tries++) {
		unsigned before = cur_errs->n;
		int	rc;

		if ((cfg = cfg_init(root_opts, CFGF_NONE)) == NULL)
			return NULL;
		cfg_set_error_function(cfg, parse_errfunc);
		hard_line = 0;
		rc = cfg_parse_buf(cfg, buf);
		if (rc == CFG_SUCCESS)
			return cfg;
		cfg_free(cfg);
		*failed = 1;
		if (hard_line <= 0 || blank_line(buf, hard_line) < 0)
			return NULL;
		blank_comments(buf);
		/* Soft errors of this pass will be found again: keep the hard one. */
		while (cur_errs->n > before + 1) {
			free(cur_errs->msg[before]);
			memmove(&cur_errs->msg[before], &cur_errs->msg[before + 1],
				(cur_errs->n - before - 1) * sizeof(char *));
			memmove(&cur_errs->line[before], &cur_errs->line[before + 1],
				(cur_errs->n - before - 1) * sizeof(int));
			cur_errs->n--;
		}
	}
	return NULL;
}

/* facility_of - syslog facility of a name the table allowed */
static int
facility_of(const char *name)
{
	static const struct {
		const char *name;
		int	fac;
	}	map[] = {
		{"mail", LOG_MAIL}, {"daemon", LOG_DAEMON}, {"user", LOG_USER},
		{"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
		{"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
		{"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	};
	size_t	i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, name) == 0)
			return map[i].fac;
	return LOG_MAIL;
}

/* conf_enum - index of an enum option's value in its table row */
int
conf_enum(cfg_t *cfg, const char *name)
{
	const char *sec = strcmp(cfg->name, "root") == 0 ? "" : cfg->name;
	const struct mw_option *o = option_find(sec, name);

	return o ? option_enum_index(o, cfg_getstr(cfg, name)) : -1;
}

/* core_dns - the snapshot's resolver: dns_servers, dns_timeout, dns_cache_size */
static int
core_dns(struct mw_conf *c)
{
	cfg_t  *cfg = c->cfg;
	unsigned i, n = cfg_size(cfg, "dns_servers");
	char  **srv = NULL, err[256];

	c->dns_budget = (int) cfg_getint(cfg, "dns_budget");
	if (n && (srv = calloc(n, sizeof(*srv))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		srv[i] = cfg_getnstr(cfg, "dns_servers", i);
	c->dns = dns_new(srv, n, (int) cfg_getint(cfg, "dns_timeout"),
			 (unsigned) cfg_getint(cfg, "dns_cache_size"), err, sizeof(err));
	free(srv);
	if (c->dns == NULL) {
		conf_error_opt(strncmp(err, "cannot allocate", 15) == 0 ?
			       "dns_cache_size" : "dns_servers", "%s", err);
		return -1;
	}
	return 0;
}

/* core_load - the options the core uses; -1 on error */
static int
core_load(struct mw_conf *c)
{
	cfg_t  *cfg = c->cfg;
	unsigned i;

	c->socket = cfg_getstr(cfg, "socket");
	c->pid_file = cfg_getstr(cfg, "pid_file");
	c->user = cfg_getstr(cfg, "user");
	c->group = cfg_getstr(cfg, "group");
	c->umask = (int) cfg_getint(cfg, "umask");
	c->syslog_facility = facility_of(cfg_getstr(cfg, "syslog_facility"));
	c->on_error = conf_enum(cfg, "on_error") == 1 ? MW_ONERR_ACCEPT : MW_ONERR_TEMPFAIL;
	c->milter_timeout = (int) cfg_getint(cfg, "milter_timeout");
	c->milter_backlog = (int) cfg_getint(cfg, "milter_backlog");
	c->max_headers = (unsigned) cfg_getint(cfg, "max_headers");
	c->max_header_bytes = (size_t) cfg_getint(cfg, "max_header_bytes");
	if (gethostname(c->hostname, sizeof(c->hostname) - 1) < 0)
		strcpy(c->hostname, "localhost");
	c->authserv_id = *cfg_getstr(cfg, "authserv_id") ?
	    cfg_getstr(cfg, "authserv_id") : c->hostname;
	for (i = 0; i < cfg_size(cfg, "internal_hosts"); i++) {
		struct cidr net;
		char	err[256];

		if (cidr_parse(cfg_getnstr(cfg, "internal_hosts", i), &net, err, sizeof(err)) < 0
		    || cidr_list_add(&c->internal_hosts, &net) < 0) {
			conf_error_opt("internal_hosts", "%s", err);
			return -1;
		}
	}
	c->n_internal_daemons = cfg_size(cfg, "internal_daemons");
	if (c->n_internal_daemons) {
		c->internal_daemons = calloc(c->n_internal_daemons, sizeof(char *));
		if (c->internal_daemons == NULL)
			return -1;
		for (i = 0; i < c->n_internal_daemons; i++)
			c->internal_daemons[i] = cfg_getnstr(cfg, "internal_daemons", i);
	}
	return core_dns(c);
}

/* conf_free - release a snapshot whose last reference is gone */
static void
conf_free(struct mw_conf *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < MW_STAGE_COUNT; i++)
		if (pipeline_stages[i] && pipeline_stages[i]->conf_free && c->stage[i])
			pipeline_stages[i]->conf_free(c->stage[i]);
	cidr_list_free(&c->internal_hosts);
	free(c->internal_daemons);
	dns_free(c->dns);		/* after the stages: their libraries use it */
	if (c->cfg)
		cfg_free(c->cfg);
	free(c->path);
	free(c);
}

/* conf_load - parse and check a file; a snapshot with one reference, or NULL */
struct mw_conf *
conf_load(const char *path, struct conf_errors *errs)
{
	struct mw_conf *c = NULL;
	char   *buf;
	cfg_t  *cfg;
	int	failed, line;
	unsigned i;

	pthread_once(&opts_once, opts_init);
	pthread_mutex_lock(&load_lock);
	memset(errs, 0, sizeof(*errs));
	cur_errs = errs;
	cur_path = path;
	if ((buf = read_file(path)) == NULL)
		goto out;
	blank_comments(buf);
	cfg = parse_all(buf, &failed);
	if (!failed && (line = unclosed_section(buf)) > 0)
		errors_add(errs, line, "this section is not closed: '}' missing before the end of the file");
	if (failed || errs->n) {
		if (cfg)
			cfg_free(cfg);
		goto out;
	}
	/* parse_all() left buf intact when there was no error. */
	cur_buf = buf;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) == NULL) {
		cfg_free(cfg);
		free(c);
		c = NULL;
		goto out;
	}
	c->refs = 1;
	c->cfg = cfg;
	if (core_load(c) < 0)
		goto fail;
	for (i = 0; i < MW_STAGE_COUNT; i++) {
		const struct mw_stage *st = pipeline_stages[i];

		if (st && st->conf_load && st->conf_load(cfg, c, &c->stage[i]) < 0
		    && errs->n == 0)
			conf_error(NULL, "%s: cannot load configuration", st->name);
	}
	if (errs->n)
		goto fail;
	goto out;
fail:
	conf_free(c);
	c = NULL;
out:
	if (errs->n == 0 && c == NULL)
		errors_add(errs, 0, "cannot load configuration (out of memory?)");
	errors_sort(errs);
	free(buf);
	cur_buf = NULL;
	cur_errs = NULL;
	pthread_mutex_unlock(&load_lock);
	return c;
}

/* conf_ref - one more reference to a snapshot */
struct mw_conf *
conf_ref(struct mw_conf *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
	return c;
}

/* conf_release - drop a reference; NULL is fine */
void
conf_release(struct mw_conf *c)
{
	if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		conf_free(c);
}

/* conf_install - make a snapshot current; takes over the caller's reference */
void
conf_install(struct mw_conf *c)
{
	struct mw_conf *old;

	pthread_mutex_lock(&cur_lock);
	old = current;
	current = c;
	pthread_mutex_unlock(&cur_lock);
	conf_release(old);
}

/* conf_acquire - a reference to the current snapshot */
struct mw_conf *
conf_acquire(void)
{
	struct mw_conf *c;

	pthread_mutex_lock(&cur_lock);
	c = current ? conf_ref(current) : NULL;
	pthread_mutex_unlock(&cur_lock);
	return c;
}

/* man_escape - print text for man(7), escaping backslashes and leading dots */
static void
man_escape(FILE *fp, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", fp);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", fp);
		else if (*s == '-')
			fputs("\\-", fp);
		else
			fputc(*s, fp);
	}
}

/* print_row - one option of mailwarden.conf(5) */
static void
print_row(FILE *fp, const struct mw_option *o)
{
	fputs(".TP\n.B ", fp);
	man_escape(fp, o->name);
	fprintf(fp, " \\fR(%s", option_type_name(o->type));
	if (o->type == MW_T_INT)
		fprintf(fp, ", %ld..%ld", o->min, o->max);
	if (o->values) {
		fputs(": ", fp);
		man_escape(fp, o->values);
	}
	if (o->def) {
		fputs("; default ", fp);
		man_escape(fp, *o->def ? o->def : "\"\"");
	}
	fputs(")\n", fp);
	man_escape(fp, o->help);
	fputs(".\n", fp);
}

/* conf_print_reference - the option list of mailwarden.conf(5), by section */
void
conf_print_reference(FILE *fp)
{
	const struct mw_option *o, *p;

	for (o = mw_options; o->name; o++) {
		for (p = mw_options; p < o; p++)
			if (strcmp(p->section, o->section) == 0)
				break;
		if (p < o)
			continue;		/* section already printed */
		if (*o->section) {
			fputs(".SS Inside section ", fp);
			man_escape(fp, o->section);
			fputc('\n', fp);
		} else {
			fputs(".SS Top-level options\n", fp);
		}
		for (p = o; p->name; p++)
			if (strcmp(p->section, o->section) == 0)
				print_row(fp, p);
	}
}

/* option_type_name - the type as the manual names it */
const char *
option_type_name(enum mw_opt_type t)
{
	switch (t) {
	case MW_T_INT:
		return "number";
	case MW_T_BOOL:
		return "yes/no";
	case MW_T_STR:
		return "string";
	case MW_T_ENUM:
		return "word";
	case MW_T_LIST:
		return "list";
	case MW_T_CIDRS:
		return "network list";
	case MW_T_SECTION:
		return "section";
	}
	return "?";
}
