/*
 * test_config - the option table and the parser built from it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "options.h"

/* write_conf - text into a fresh temporary file; its path */
static char *
write_conf(const char *text)
{
	static char path[64];
	int	fd;

	strcpy(path, "/tmp/mwconfXXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	close(fd);
	return path;
}

/* load - load text; the snapshot or NULL, errors in *e */
static struct mw_conf *
load(const char *text, struct conf_errors *e)
{
	char   *path = write_conf(text);
	struct mw_conf *c = conf_load(path, e);

	unlink(path);
	return c;
}

/* has_error - is there an error at that line containing that text? */
static int
has_error(const struct conf_errors *e, int line, const char *text)
{
	unsigned i;

	for (i = 0; i < e->n; i++)
		if (e->line[i] == line && strstr(e->msg[i], text))
			return 1;
	return 0;
}

/* Every row is complete and its default is valid by its own rules. */
static void
test_table_rows(void **state)
{
	const struct mw_option *o, *p;

	(void) state;
	for (o = mw_options; o->name; o++) {
		assert_non_null(o->help);
		assert_true(strlen(o->help) > 10);
		if (o->type == MW_T_INT) {
			long	d = strtol(o->def, NULL, 0);

			assert_true(o->min <= d && d <= o->max);
		}
		if (o->type == MW_T_ENUM)
			assert_true(option_enum_index(o, o->def) >= 0);
		if (o->type != MW_T_SECTION)
			assert_non_null(o->def);
		for (p = mw_options; p < o; p++)	/* declared once */
			assert_false(strcmp(p->section, o->section) == 0
				     && strcmp(p->name, o->name) == 0);
	}
}

/* An empty file gives every default. */
static void
test_defaults(void **state)
{
	struct conf_errors e;
	struct mw_conf *c;

	(void) state;
	c = load("# nothing\n", &e);
	assert_non_null(c);
	assert_int_equal(e.n, 0);
	assert_string_equal(c->socket, "inet:8891@127.0.0.1");
	assert_int_equal(c->on_error, MW_ONERR_TEMPFAIL);
	assert_int_equal(c->milter_timeout, 300);
	assert_int_equal(c->internal_hosts.n, 2);
	assert_int_equal(c->umask, 07);
	conf_release(c);
	conf_errors_free(&e);
}

/* Values are read into the snapshot. */
static void
test_values(void **state)
{
	struct conf_errors e;
	struct mw_conf *c;

	(void) state;
	c = load("socket = \"unix:/run/mw.sock\"\non_error = accept\n"
		 "internal_hosts = {10.0.0.0/8, 2001:db8::/32, 192.0.2.7}\n"
		 "internal_daemons = {submission, smtps}\nmilter_timeout = 60\n"
		 "authserv_id = mx.example.com\n", &e);
	assert_non_null(c);
	assert_string_equal(c->socket, "unix:/run/mw.sock");
	assert_int_equal(c->on_error, MW_ONERR_ACCEPT);
	assert_int_equal(c->internal_hosts.n, 3);
	assert_int_equal(c->n_internal_daemons, 2);
	assert_string_equal(c->internal_daemons[1], "smtps");
	assert_int_equal(c->milter_timeout, 60);
	assert_string_equal(c->authserv_id, "mx.example.com");
	conf_release(c);
	conf_errors_free(&e);
}

/* Every error of a file is reported, with its line, in line order. */
static void
test_all_errors(void **state)
{
	struct conf_errors e;
	struct mw_conf *c;

	(void) state;
	c = load("socket = \"inet:8891@127.0.0.1\" # comment\n"	/* 1 */
		 "frobnicate = 3 // comment\n"		/* 2 unknown */
		 "internal_hosts = {10.0.0.0/33}\n"	/* 3 bad CIDR */
		 "dns_timeout = 0\n"			/* 4 out of range */
		 "on_error = maybe\n"			/* 5 bad word */
		 "milter_timeout = many\n"		/* 6 not a number */
		 "ratelimit \"r\" { /* a\n"		/* 7 */
		 " comment */ rate = 0\n"		/* 8 out of range */
		 "  colour = blue\n"			/* 9 unknown in section */
		 "}\n"
		 "socket = \"tcp:25\"\n", &e);		/* 11 bad socket */
	assert_null(c);
	assert_true(has_error(&e, 2, "unknown option 'frobnicate'"));
	assert_true(has_error(&e, 3, "10.0.0.0/33"));
	assert_true(has_error(&e, 4, "out of range 1..60"));
	assert_true(has_error(&e, 5, "not one of tempfail|accept"));
	assert_true(has_error(&e, 6, "milter_timeout"));
	assert_true(has_error(&e, 8, "out of range"));
	assert_true(has_error(&e, 9, "unknown option 'colour'"));
	assert_true(has_error(&e, 11, "unix:/path"));
	assert_int_equal(e.n, 8);
	for (unsigned i = 1; i < e.n; i++)
		assert_true(e.line[i - 1] <= e.line[i]);
	assert_non_null(strstr(e.msg[0], ":2: "));
	conf_errors_free(&e);
}

/* A stage's error in a section points at the line that opens it. */
static void
test_section_line(void **state)
{
	struct conf_errors e;
	struct mw_conf *c;

	(void) state;
	c = load("# rules\n"
		 "ratelimit \"first\" { rate = 5 }\n"	/* 2 */
		 "\n"
		 "ratelimit   second {\n"			/* 4 */
		 "  key = {rcpt_domain}\n"
		 "  count = messages\n"
		 "}\n", &e);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_true(has_error(&e, 4, "ratelimit \"second\""));
	conf_errors_free(&e);
}

/*
 * Comments are what libconfuse takes for comments, no more: "//" inside an
 * unquoted value is part of it; and after a line with a stray quote is
 * blanked for its error, the comments the quote hid still keep their
 * line numbers (an error was reported at line 5 of a 3-line file). A
 * section left open at the end of the file is an error.
 */
static void
test_comments(void **state)
{
	struct conf_errors e;
	struct mw_conf *c;

	(void) state;
	c = load("socket = unix:/run//mw.sock // the socket\n"
		 "user = \"u\"// a comment after a quoted value\n"
		 "group = a /* c */ \n"
		 "pid_file = \"\" /*/ still a comment */\n", &e);
	assert_non_null(c);
	assert_string_equal(c->socket, "unix:/run//mw.sock");
	assert_string_equal(c->user, "u");
	assert_string_equal(c->group, "a");
	conf_release(c);
	conf_errors_free(&e);
	/* A file cut short inside a section: libconfuse 3.3 would take it whole. */
	assert_null(load("archive \"x\" {\n bcc = {a@example.com}\n", &e));
	assert_int_equal(e.n, 1);
	assert_true(has_error(&e, 1, "not closed"));
	conf_errors_free(&e);
	assert_null(load("sign \"example.com\" {\n key \"a\" { file = \"/x}\" }\n# }\n", &e));
	assert_true(has_error(&e, 1, "not closed"));
	conf_errors_free(&e);
	/* Slash-star inside a word is no comment to libconfuse: an error, not "x". */
	assert_null(load("group = x/*c*/\n", &e));
	assert_int_equal(e.n, 1);
	conf_errors_free(&e);

	c = load(".\"\n//\nt", &e);
	assert_null(c);
	assert_int_equal(e.n, 2);
	assert_true(has_error(&e, 1, "unknown option '.'"));
	assert_true(has_error(&e, 3, "unknown option 't'"));
	conf_errors_free(&e);
}

/* Forms of string values. */
static void
test_forms(void **state)
{
	static const struct {
		const char *text;
		int	ok;
	}	cases[] = {
		{"socket = \"inet6:8891@::1\"\n", 1},
		{"socket = \"inet:0@127.0.0.1\"\n", 0},
		{"socket = \"inet:70000@127.0.0.1\"\n", 0},
		{"socket = \"unix:relative/path\"\n", 0},
		{"dns_servers = {127.0.0.1:5300, \"[::1]:53\", 192.0.2.1}\n", 1},
		{"dns_servers = {ns.example.com}\n", 0},
		{"dns_servers = {127.0.0.1:0}\n", 0},
		{"authserv_id = \"mx example\"\n", 0},
		{"redis_server = \"127.0.0.1:6379\"\n", 1},
		{"redis_server = \"nowhere\"\n", 0},
		{"dmarc_tag_header = \"X-Bad Header\"\n", 0},
		{"umask = 01000\n", 0},
		{"internal_hosts = {}\n", 1},
		{"archive \"a\" { bcc = {\"<x@example.com>\"} }\n", 0},
		{"ratelimit \"r\" { key = {sasl_user, shoe_size} }\n", 0},
		{"sign \"example.com\" { }\nsign \"example.com\" { }\n", 0},
	};
	size_t	i;

	(void) state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf_errors e;
		struct mw_conf *c = load(cases[i].text, &e);

		if ((c != NULL) != cases[i].ok)
			fail_msg("case %zu (%s): expected %s, got %u errors%s%s", i,
				 cases[i].text, cases[i].ok ? "success" : "an error", e.n,
				 e.n ? ": " : "", e.n ? e.msg[0] : "");
		conf_release(c);
		conf_errors_free(&e);
	}
}

/* A missing or odd file is an error naming the file. */
static void
test_bad_files(void **state)
{
	struct conf_errors e;
	char	nul[] = "socket = \"x\"\0oops\n";
	char   *path;
	FILE   *fp;

	(void) state;
	assert_null(conf_load("/nonexistent/mailwarden.conf", &e));
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "/nonexistent/mailwarden.conf"));
	conf_errors_free(&e);
	path = write_conf("");
	fp = fopen(path, "w");
	fwrite(nul, 1, sizeof(nul) - 1, fp);
	fclose(fp);
	assert_null(conf_load(path, &e));
	assert_non_null(strstr(e.msg[0], "NUL"));
	conf_errors_free(&e);
	unlink(path);
}

/* References keep a snapshot alive across an install of a new one. */
static void
test_snapshots(void **state)
{
	struct conf_errors e;
	struct mw_conf *a, *b, *held;

	(void) state;
	a = load("milter_timeout = 11\n", &e);
	conf_errors_free(&e);
	b = load("milter_timeout = 22\n", &e);
	conf_errors_free(&e);
	conf_install(a);
	held = conf_acquire();
	assert_int_equal(held->milter_timeout, 11);
	conf_install(b);			/* a's install reference dropped */
	assert_int_equal(held->milter_timeout, 11);	/* still valid */
	conf_release(held);			/* a freed here */
	held = conf_acquire();
	assert_int_equal(held->milter_timeout, 22);
	conf_release(held);
	conf_install(NULL);
}

/* The shipped configuration loads as it is. */
static void
test_shipped(void **state)
{
	struct conf_errors e;
	char	path[1024];
	const char *src = getenv("MW_SRCDIR");
	struct mw_conf *c;

	(void) state;
	snprintf(path, sizeof(path), "%s/conf/mailwarden.conf", src ? src : ".");
	c = conf_load(path, &e);
	if (c == NULL)
		fail_msg("%s: %s", path, e.n ? e.msg[0] : "?");
	conf_release(c);
	conf_errors_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_rows),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_all_errors),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_section_line),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_snapshots),
		cmocka_unit_test(test_shipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
