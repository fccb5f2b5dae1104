/*
 * test_sign - the signing stage without an MTA: a real configuration
 * snapshot with real keys, messages run through the pipeline, the
 * DKIM-Signature headers it inserts recorded. Checks the decision for each
 * kind of From (comments, quoted strings, folding, groups, several
 * addresses, IDN, literals), the skip reasons on the log line, the body
 * hash of bodies with bare LF, split CRLF and no final line end (against
 * SHA-256 of the canonical body computed here), and the header's form.
 */
#define _GNU_SOURCE		/* strcasestr */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "config.h"
#include "keygen.h"
#include "mailwarden.h"

static char dir[64];
static struct mw_conf *conf;

/* What msg_insheader() received. */
struct rec {
	int	n;
	int	idx[8];
	char	value[8][2048];
};

/* rec_ins - the insheader action, recorded */
static int
rec_ins(void *arg, int idx, const char *name, const char *value)
{
	struct rec *r = arg;

	assert_string_equal(name, "DKIM-Signature");
	assert_true(r->n < 8);
	r->idx[r->n] = idx;
	snprintf(r->value[r->n++], sizeof(r->value[0]), "%s", value);
	return 0;
}

/* rec_other - actions the signing stage must never take */
static int
rec_chg(void *arg, const char *name, int idx, const char *value)
{
	(void) arg;
	(void) name;
	(void) idx;
	(void) value;
	fail_msg("chgheader called");
	return -1;
}

static int
rec_rcpt(void *arg, const char *rcpt)
{
	(void) arg;
	(void) rcpt;
	fail_msg("addrcpt called");
	return -1;
}

static int
rec_quar(void *arg, const char *reason)
{
	(void) arg;
	(void) reason;
	fail_msg("quarantine called");
	return -1;
}

/* keyfile - a new key in the test directory; its path */
static const char *
keyfile(const char *name, enum keys_type t)
{
	static char path[4][128];
	static int i;
	struct keys_key k = {0};
	char	err[256];

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name);
	assert_int_equal(keygen_make(&k, t, 1024, err, sizeof(err)), 0);
	assert_int_equal(keygen_write(&k, path[i], err, sizeof(err)), 0);
	keys_clear(&k);
	return path[i];
}

static int
setup(void **state)
{
	char	text[2048], path[128];
	struct conf_errors e;
	FILE   *fp;
	const char *r, *ed, *o;

	(void) state;
	strcpy(dir, "/tmp/mwsignXXXXXX");
	assert_non_null(mkdtemp(dir));
	r = keyfile("r.key", KEYS_RSA);
	ed = keyfile("e.key", KEYS_ED25519);
	o = keyfile("o.key", KEYS_RSA);
	snprintf(text, sizeof(text),
		 "pid_file = \"\"\nuser = \"\"\ninbound_checks = no\n"
		 "sign \"example.test\" {\n subdomains = yes\n"
		 " key \"r\" { file = \"%s\" }\n key \"e\" { file = \"%s\" }\n}\n"
		 "sign \"other.test\" {\n key \"o\" { file = \"%s\" }\n}\n", r, ed, o);
	snprintf(path, sizeof(path), "%s/mw.conf", dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	if ((conf = conf_load(path, &e)) == NULL) {
		conf_errors_print(&e, stderr);
		return -1;
	}
	conf_errors_free(&e);
	conf_install(conf_ref(conf));
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[128];

	(void) state;
	conf_install(NULL);
	conf_release(conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* A message to run: headers as name/value pairs, body chunks. */
struct tmsg {
	const char *hdr[16][2];
	const char *chunk[8];
	enum mw_dir dir;
};

/* run - one message through the pipeline; its log notes in notes */
static void
run(const struct tmsg *t, struct rec *r, char *notes, size_t len)
{
	struct mw_conn conn = {0};
	struct mw_actions act = {rec_ins, rec_chg, rec_rcpt, rec_quar, r};
	struct mw_reply rep;
	struct mw_msg *m;
	int	i;

	memset(r, 0, sizeof(*r));
	conn.conf = conf;
	conn.leadspc = 1;
	assert_non_null(m = msg_new(&conn));
	m->dir = t->dir;
	m->dir_why = "test";
	for (i = 0; t->hdr[i][0]; i++) {
		char	v[1024];

		snprintf(v, sizeof(v), " %s", t->hdr[i][1]);	/* LEADSPC */
		assert_int_equal(msg_add_header(m, t->hdr[i][0], v), 0);
	}
	assert_int_equal(pipeline_eoh(m, &rep), 0);
	for (i = 0; t->chunk[i]; i++)
		assert_int_equal(pipeline_body(m, (const unsigned char *) t->chunk[i],
					       strlen(t->chunk[i]), &rep), 0);
	m->act = &act;
	assert_int_equal(pipeline_eom(m, &rep), 0);
	m->act = NULL;
	snprintf(notes, len, "%s", m->notes);
	msg_free(m);
}

/* decide - the note a message with this From value gets */
static void
decide(const char *from, const char *want)
{
	struct tmsg t = {{{"From", from}, {"Subject", "x"}}, {"x\r\n"}, MW_DIR_OUTBOUND};
	struct rec r;
	char	notes[2048];

	run(&t, &r, notes, sizeof(notes));
	if (strstr(notes, want) == NULL)
		fail_msg("From \"%s\": notes \"%s\" lack \"%s\"", from, notes, want);
	assert_int_equal(r.n, strncmp(want, "dkim-sign=ok", 12) == 0 ?
			 (strstr(want, "s=r,e") ? 2 : 1) : 0);
}

/* Each From form: signed with the right domain and keys, or why not. */
static void
test_from(void **state)
{
	(void) state;
	decide("Alice <alice@example.test>", "dkim-sign=ok d=example.test s=r,e");
	decide("\"Doe, John\" (the boss, <really>) <john@Example.TEST>",
	       "dkim-sign=ok d=example.test s=r,e");
	decide("john@example.test (John Doe)", "dkim-sign=ok d=example.test s=r,e");
	decide("\r\n\t<john@example.test>\r\n\t", "dkim-sign=ok d=example.test s=r,e");
	decide("=?utf-8?q?J=C3=B6rg?= <j@example.test.>", "dkim-sign=ok d=example.test s=r,e");
	decide("john@mail.Example.test", "dkim-sign=ok d=example.test s=r,e");
	decide("a@other.test", "dkim-sign=ok d=other.test s=o");
	decide("a@sub.other.test", "dkim-sign=skip (no key for sub.other.test)");
	decide("a@b\xc3\xbc" "cher.example", "dkim-sign=skip (no key for xn--bcher-kva.example)");
	decide("Group: a@example.test, b@example.test;", "dkim-sign=skip (From has 2 addresses)");
	decide("\"A, B\" <a@example.test>, b@example.test", "dkim-sign=skip (From has 2 addresses)");
	decide("undisclosed-recipients:;", "dkim-sign=skip (From unreadable: no address)");
	decide("a@example.test b@example.test", "dkim-sign=skip (From unreadable:");
	decide("a@[192.0.2.1]", "dkim-sign=skip (From unreadable: address literal");
	decide("(a@example.test <b@example.test>", "dkim-sign=skip (From unreadable: unterminated comment");
	decide("Alice", "dkim-sign=skip (From unreadable: display name without an address)");
	decide("", "dkim-sign=skip (From unreadable: no address)");
}

/* No From, two, inbound mail, our own signature already there. */
static void
test_skips(void **state)
{
	struct tmsg none = {{{"Subject", "x"}}, {"x\r\n"}, MW_DIR_OUTBOUND};
	struct tmsg two = {{{"FROM", "a@example.test"}, {"from", "a@example.test"}}, {"x\r\n"},
			   MW_DIR_OUTBOUND};
	struct tmsg in = {{{"From", "a@example.test"}}, {"x\r\n"}, MW_DIR_INBOUND};
	struct tmsg ours = {{{"DKIM-Signature", "v=1; a=rsa-sha256; d=EXAMPLE.test;\r\n\t s = R ;"
			      " bh=x; b=y"}, {"From", "a@example.test"}}, {"x\r\n"}, MW_DIR_OUTBOUND};
	struct tmsg theirs = {{{"DKIM-Signature", "v=1; a=rsa-sha256; d=example.test; s=other;"
				" bh=x; b=y"}, {"DKIM-Signature", "v=1; d=elsewhere.test; s=r"},
			       {"From", "a@example.test"}}, {"x\r\n"}, MW_DIR_OUTBOUND};
	struct rec r;
	char	notes[2048];

	(void) state;
	run(&none, &r, notes, sizeof(notes));
	assert_non_null(strstr(notes, "dkim-sign=skip (no From)"));
	run(&two, &r, notes, sizeof(notes));
	assert_non_null(strstr(notes, "dkim-sign=skip (2 From headers)"));
	run(&in, &r, notes, sizeof(notes));
	assert_non_null(strstr(notes, "dkim-sign=skip (inbound)"));
	assert_int_equal(r.n, 0);
	run(&ours, &r, notes, sizeof(notes));
	assert_non_null(strstr(notes, "dkim-sign=skip (already signed d=example.test s=r)"));
	assert_int_equal(r.n, 0);
	run(&theirs, &r, notes, sizeof(notes));
	if (strstr(notes, "dkim-sign=ok d=example.test s=r,e") == NULL)
		fail_msg("notes: %s", notes);
	assert_int_equal(r.n, 2);
}

/* bh - SHA-256 of text, base64 */
static void
bh(const char *text, char *out)
{
	unsigned char md[32];
	unsigned int n;

	EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL);
	EVP_EncodeBlock((unsigned char *) out, md, 32);
}

/* tag - a tag's value in a signature header, white space removed */
static void
tag(const char *sig, const char *name, char *out, size_t len)
{
	size_t	nl = strlen(name), n = 0;
	const char *p;

	for (p = sig; *p; p++)		/* the tag, after a space, tab or newline */
		if (strchr(" \t\n", *p) && strncmp(p + 1, name, nl) == 0 && p[1 + nl] == '=')
			break;
	if (*p == 0)
		fail_msg("no %s= in %s", name, sig);
	for (p += nl + 2; *p && *p != ';' && n + 1 < len; p++)
		if (!strchr(" \t\r\n", *p))
			out[n++] = *p;
	out[n] = 0;
}

/* body - the body hash of a message sent in these chunks */
static void
body(const char *c0, const char *c1, const char *c2, const char *canonical)
{
	struct tmsg t = {{{"From", "a@example.test"}}, {c0, c1, c2, NULL}, MW_DIR_OUTBOUND};
	struct rec r;
	char	notes[2048], got[128], want[64];
	int	i;

	run(&t, &r, notes, sizeof(notes));
	assert_int_equal(r.n, 2);
	bh(canonical, want);
	for (i = 0; i < r.n; i++) {
		tag(r.value[i], "bh", got, sizeof(got));
		if (strcmp(got, want) != 0)
			fail_msg("bh=%s, want %s (sha256 of the canonical body)", got, want);
	}
}

/* Bodies as the MTA would send them on: bare LF, split CRLF, no last CRLF. */
static void
test_body(void **state)
{
	(void) state;
	body("Hello.\r\n", NULL, NULL, "Hello.\r\n");
	body("a\nb\r\n", "c\n", NULL, "a\r\nb\r\nc\r\n");
	body("a\r", "\nb\r", "\n", "a\r\nb\r\n");		/* CRLF split across chunks */
	body("no final line end", NULL, NULL, "no final line end\r\n");
	body("x\r\n\r\n\r\n", NULL, NULL, "x\r\n");		/* relaxed: empty lines at end */
	body(NULL, NULL, NULL, "");				/* empty body */
	body("\r\n", NULL, NULL, "");
	body("8-bit \xff\xfe\xc3\xbc\n", NULL, NULL, "8-bit \xff\xfe\xc3\xbc\r\n");
}

/* longline - does a body of these chunks get the long-line warning? */
static int
longline(const char *c0, const char *c1)
{
	struct tmsg t = {{{"From", "a@example.test"}}, {c0, c1, NULL}, MW_DIR_OUTBOUND};
	struct rec r;
	char	notes[2048];

	run(&t, &r, notes, sizeof(notes));
	assert_non_null(strstr(notes, "dkim-sign=ok"));
	return strstr(notes, "over 998 bytes") != NULL;
}

/* Lines over RFC 5322's 998 bytes are signed, with a warning on the log line. */
static void
test_long_lines(void **state)
{
	char	l998[1100], l999[1100], half[600];

	(void) state;
	memset(l998, 'x', 998);
	strcpy(l998 + 998, "\r\nshort\r\n");
	memset(l999, 'x', 999);
	strcpy(l999 + 999, "\n");
	memset(half, 'y', 500);
	half[500] = 0;
	assert_false(longline(l998, NULL));
	assert_true(longline(l999, NULL));
	assert_false(longline(half, "\r\n"));
	assert_true(longline(half, half));	/* 1000 bytes over two chunks, no line end */
}

/* The header: at the top, no CR (the MTA folds with LF), From over-signed. */
static void
test_header_form(void **state)
{
	struct tmsg t = {{{"From", "a@example.test"}, {"Subject", "s"}, {"To", "b@example.org"}},
			 {"x\r\n"}, MW_DIR_OUTBOUND};
	struct rec r;
	char	notes[2048], h[1024], *p;
	int	i, nfrom;

	(void) state;
	run(&t, &r, notes, sizeof(notes));
	assert_int_equal(r.n, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(r.idx[i], 0);
		assert_null(strchr(r.value[i], '\r'));
		assert_null(strstr(r.value[i], " l="));
		assert_null(strstr(r.value[i], " x="));
		assert_non_null(strstr(r.value[i], "c=relaxed/relaxed"));
		tag(r.value[i], "h", h, sizeof(h));
		for (nfrom = 0, p = h; (p = strcasestr(p, "from")) != NULL; p += 4)
			nfrom++;
		assert_int_equal(nfrom, 2);
		assert_non_null(strcasestr(h, "Cc"));	/* absent, over-signed */
	}
	assert_non_null(strstr(r.value[0], "a=rsa-sha256"));
	assert_non_null(strstr(r.value[1], "a=ed25519-sha256"));
}

/* conf_fails - a configuration that must be refused with this message */
static void
conf_fails(const char *text, const char *want)
{
	char	path[128], full[2048];
	struct conf_errors e;
	struct mw_conf *c;
	FILE   *fp;
	unsigned i;

	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	snprintf(full, sizeof(full), "pid_file = \"\"\nuser = \"\"\n%s", text);
	assert_non_null(fp = fopen(path, "w"));
	fputs(full, fp);
	fclose(fp);
	c = conf_load(path, &e);
	if (c != NULL)
		fail_msg("accepted: %s", text);
	for (i = 0; i < e.n; i++)
		if (strstr(e.msg[i], want))
			break;
	if (i == e.n)
		fail_msg("\"%s\" not among %u errors, first: %s", want, e.n, e.n ? e.msg[0] : "-");
	conf_errors_free(&e);
}

/* Configuration mistakes of the signing options, each refused with a reason. */
static void
test_conf_errors(void **state)
{
	char	k[256];

	(void) state;
	snprintf(k, sizeof(k), "key \"r\" { file = \"%s/r.key\" }", dir);
	conf_fails("sign \"example.test\" { }\n", "has no key \"SELECTOR\"");
	conf_fails("sign \"example.test\" { key \"r\" { } }\n", "give file =");
	conf_fails("sign \"not_a_domain\" { key \"r\" { file = \"/x\" } }\n",
		   ":3: sign \"not_a_domain\": \"not_a_domain\" is not a domain name");
	conf_fails("sign \"example.test\" { key \"a b\" { file = \"/x\" } }\n", "not a selector");
	conf_fails("sign_headers = {From, \"X(1)\"}\n", "\"X(1)\": a signed header name");
	conf_fails("sign_headers = {From, DKIM-Signature}\n", "is not DKIM-Signature");
	conf_fails("sign_headers = {From, Subject}\noversign_headers = {From, To}\n",
		   "\"To\" is not in sign_headers");
	conf_fails("sign_fallback_domain = \"nowhere.test\"\n", "\"nowhere.test\" has no keys");
	conf_fails("keytable = \"/etc/opendkim/KeyTable\"\n", "keytable and signingtable go together");
	{
		char	two[1024];

		snprintf(two, sizeof(two), "sign \"example.test\" {\n %s\n %s\n}\n", k, k);
		conf_fails(two, "");	/* libconfuse: duplicate title */
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from),
		cmocka_unit_test(test_skips),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_header_form),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_conf_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
