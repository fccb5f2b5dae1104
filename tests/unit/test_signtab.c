/*
 * test_signtab - which keys sign which From domain: exact domains,
 * subdomains, the nearest parent, the fallback domain, dual RSA+Ed25519
 * entries, and the import of OpenDKIM KeyTable/SigningTable files with
 * every error they can hold. Keys are real, generated into a temporary
 * directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "keygen.h"
#include "keytable.h"
#include "signtab.h"

static char dir[64];
static char rsa_file[128], ed_file[128], bad_file[128];

/* file - write text to dir/name; its path (static, one of 8) */
static const char *
file(const char *name, const char *text)
{
	static char buf[8][128];
	static int i;
	FILE   *fp;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	assert_non_null(fp = fopen(buf[i], "w"));
	fputs(text, fp);
	fclose(fp);
	return buf[i];
}

/* gen - a key file of a type */
static void
gen(char *out, size_t len, const char *name, enum keys_type t)
{
	struct keys_key k = {0};
	char	err[256];

	snprintf(out, len, "%s/%s", dir, name);
	assert_int_equal(keygen_make(&k, t, 1024, err, sizeof(err)), 0);
	assert_int_equal(keygen_write(&k, out, err, sizeof(err)), 0);
	keys_clear(&k);
}

static int
setup(void **state)
{
	(void) state;
	strcpy(dir, "/tmp/mwsigntabXXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	gen(rsa_file, sizeof(rsa_file), "rsa.key", KEYS_RSA);
	gen(ed_file, sizeof(ed_file), "ed.key", KEYS_ED25519);
	snprintf(bad_file, sizeof(bad_file), "%s", file("bad.key", "not a key\n"));
	chmod(bad_file, 0600);
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[128];

	(void) state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* key - a loaded key of the table with selector and domain */
static struct keys_key *
key(struct signtab *t, const char *f, const char *sel, const char *domain)
{
	struct keys_key *k = signtab_key_new(t);
	char	err[512];

	assert_non_null(k);
	k->selector = strdup(sel);
	k->domain = domain ? strdup(domain) : NULL;
	assert_int_equal(keys_load(k, f, 1, NULL, err, sizeof(err)), 0);
	return k;
}

/* add - signtab_add that must succeed */
static void
add(struct signtab *t, const char *pattern, struct keys_key *k)
{
	char	err[256];

	if (signtab_add(t, pattern, k, "sign sections", err, sizeof(err)) < 0)
		fail_msg("signtab_add %s: %s", pattern, err);
}

/* selector - the first key's selector for a domain, "-" when none; fb set */
static const char *
selector(const struct signtab *t, const char *domain, int *fb)
{
	const struct signtab_entry *e = signtab_lookup(t, domain, fb);

	return e ? e->key[0]->selector : "-";
}

/* Exact domains, subdomains only where enabled, case, the nearest parent. */
static void
test_lookup(void **state)
{
	struct signtab *t = signtab_new();
	struct keys_key *a = key(t, rsa_file, "a", "example.com");
	struct keys_key *b = key(t, rsa_file, "b", "b.example.com");
	struct keys_key *o = key(t, rsa_file, "o", "other.org");
	static const struct {
		const char *domain, *want;
	}	cases[] = {
		{"example.com", "a"},
		{"EXAMPLE.Com", "a"},
		{"x.example.com", "a"},		/* subdomains = yes */
		{"deep.x.example.com", "a"},
		{"b.example.com", "b"},		/* its own section wins */
		{"c.b.example.com", "b"},	/* nearest parent */
		{"other.org", "o"},
		{"sub.other.org", "-"},		/* subdomains = no */
		{"example.com.evil.net", "-"},
		{"notexample.com", "-"},
		{"com", "-"},
	};
	unsigned i;
	int	fb;

	(void) state;
	add(t, "example.com", a);
	add(t, ".example.com", a);
	add(t, "b.example.com", b);
	add(t, ".b.example.com", b);
	add(t, "other.org", o);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(selector(t, cases[i].domain, &fb), cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", cases[i].domain,
				 selector(t, cases[i].domain, &fb), cases[i].want);
		assert_int_equal(fb, 0);
	}
	signtab_free(t);
}

/* The fallback domain's keys sign for domains without keys, flagged. */
static void
test_fallback(void **state)
{
	struct signtab *t = signtab_new();
	struct keys_key *a = key(t, rsa_file, "a", "example.com");
	struct keys_key *o = key(t, rsa_file, "o", "other.org");
	char	err[256];
	int	fb;

	(void) state;
	add(t, "example.com", a);
	add(t, "other.org", o);
	assert_int_equal(signtab_set_fallback(t, "nowhere.test", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"nowhere.test\" has no keys"));
	assert_string_equal(selector(t, "unknown.net", &fb), "-");
	assert_int_equal(fb, 0);
	assert_int_equal(signtab_set_fallback(t, "Other.ORG", err, sizeof(err)), 0);
	assert_string_equal(selector(t, "unknown.net", &fb), "o");
	assert_int_equal(fb, 1);
	assert_string_equal(selector(t, "example.com", &fb), "a");
	assert_int_equal(fb, 0);
	assert_string_equal(selector(t, "other.org", &fb), "o");
	assert_int_equal(fb, 0);
	signtab_free(t);
}

/* RSA and Ed25519 for one domain: both keys; limits and conflicts. */
static void
test_dual_and_limits(void **state)
{
	struct signtab *t = signtab_new();
	struct keys_key *r = key(t, rsa_file, "rsa", "example.com");
	struct keys_key *e = key(t, ed_file, "ed", "example.com");
	struct keys_key *same = key(t, ed_file, "RSA", "example.com");
	const struct signtab_entry *en;
	char	err[256];
	int	fb, i;

	(void) state;
	add(t, "example.com", r);
	add(t, "example.com", e);
	add(t, "example.com", r);		/* the same key again: no change */
	assert_non_null(en = signtab_lookup(t, "example.com", &fb));
	assert_int_equal(en->nkey, 2);
	assert_int_equal(en->key[0]->type, KEYS_RSA);
	assert_int_equal(en->key[1]->type, KEYS_ED25519);
	assert_int_equal(signtab_add(t, "example.com", same, "sign sections", err,
				     sizeof(err)), -1);
	assert_non_null(strstr(err, "two keys with selector \"RSA\""));
	assert_int_equal(signtab_add(t, "example.com", same, "SigningTable", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "both the sign sections and the SigningTable"));
	for (i = 0; i < SIGNTAB_MAX_KEYS; i++) {
		char	sel[16];

		snprintf(sel, sizeof(sel), "k%d", i);
		if (signtab_add(t, "many.test", key(t, ed_file, sel, "many.test"),
				"sign sections", err, sizeof(err)) < 0)
			fail_msg("key %d: %s", i, err);
	}
	assert_int_equal(signtab_add(t, "many.test", key(t, ed_file, "k9", "many.test"),
				     "sign sections", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 4 keys"));
	signtab_free(t);
}

/* Import problems, collected. */
static char *reports[32];
static unsigned nreports;

/* collect - keytable_import's report function */
static void
collect(void *arg, const char *msg)
{
	(void) arg;
	if (nreports < 32)
		reports[nreports++] = strdup(msg);
}

/* reported - was a problem reported that holds both texts? */
static int
reported(const char *a, const char *b)
{
	unsigned i;

	for (i = 0; i < nreports; i++)
		if (strstr(reports[i], a) && strstr(reports[i], b))
			return 1;
	return 0;
}

/* clear_reports - forget collected problems */
static void
clear_reports(void)
{
	while (nreports)
		free(reports[--nreports]);
}

/* import - tables from text into t; keytable_import's result */
static int
import(struct signtab *t, const char *kt, const char *st)
{
	struct keytable_opts o = {1, NULL, collect, NULL};
	char	k[128], s[128];

	clear_reports();
	snprintf(k, sizeof(k), "%s", file("KeyTable", kt));
	snprintf(s, sizeof(s), "%s", file("SigningTable", st));
	return keytable_import(t, k, s, &o);
}

/* import_n - like import, the KeyTable given as n bytes (NUL bytes too) */
static int
import_n(struct signtab *t, const char *kt, size_t n, const char *st)
{
	struct keytable_opts o = {1, NULL, collect, NULL};
	char	k[128], s[128];
	FILE   *fp;

	clear_reports();
	snprintf(k, sizeof(k), "%s", file("KeyTable", ""));
	snprintf(s, sizeof(s), "%s", file("SigningTable", st));
	assert_non_null(fp = fopen(k, "w"));
	assert_int_equal(fwrite(kt, 1, n, fp), n);
	fclose(fp);
	return keytable_import(t, k, s, &o);
}

/* OpenDKIM tables as installations write them. */
static void
test_import(void **state)
{
	struct signtab *t = signtab_new();
	char	kt[2048], st[1024];
	const struct signtab_entry *e;
	int	fb;

	(void) state;
	snprintf(kt, sizeof(kt),
		 "# KeyTable\n"
		 "rsa-ex   example.com:rsa2026:%s\n"
		 "ed-ex\texample.com:ed2026:%s   # Ed25519 too\n"
		 "\n"
		 "net      example.net:s1:%s\n"
		 "any      %%:any:%s\n"
		 "unused   unused.test:x:%s\n", rsa_file, ed_file, rsa_file, rsa_file, bad_file);
	snprintf(st, sizeof(st),
		 "*@example.com   rsa-ex\n"
		 "*@example.com   ed-ex\n"
		 "*@*.example.net net\n"
		 "example.net     net\n"
		 ".parent.test    any\n");
	if (import(t, kt, st) < 0)
		fail_msg("import: %s", nreports ? reports[0] : "?");
	assert_non_null(e = signtab_lookup(t, "Example.com", &fb));
	assert_int_equal(e->nkey, 2);
	assert_string_equal(e->key[0]->selector, "rsa2026");
	assert_string_equal(e->key[1]->selector, "ed2026");
	assert_int_equal(e->key[1]->type, KEYS_ED25519);
	assert_non_null(e = signtab_lookup(t, "mail.example.net", &fb));
	assert_string_equal(e->key[0]->domain, "example.net");
	assert_non_null(e = signtab_lookup(t, "example.net", &fb));
	assert_non_null(e = signtab_lookup(t, "a.parent.test", &fb));
	assert_null(e->key[0]->domain);		/* '%': the From domain */
	assert_null(signtab_lookup(t, "parent.test", &fb));
	assert_null(signtab_lookup(t, "sub.example.com", &fb));
	assert_int_equal(signtab_nkeys(t), 4);	/* "unused" was never loaded */
	signtab_free(t);
}

/*
 * Trailing white space is trimmed whole: it used to be trimmed every other
 * byte, which cut a one-letter value ("*@example.com k" named key "") and
 * left a blank on a key path.
 */
static void
test_import_spacing(void **state)
{
	struct signtab *t = signtab_new();
	char	kt[1024];
	int	fb;

	(void) state;
	snprintf(kt, sizeof(kt), "k example.com:s1:%s \t \n", rsa_file);
	if (import(t, kt, "*@example.com k\nexample.org k \t \n") < 0)
		fail_msg("import: %s", nreports ? reports[0] : "?");
	assert_non_null(signtab_lookup(t, "example.com", &fb));
	assert_non_null(signtab_lookup(t, "example.org", &fb));
	signtab_free(t);
	/* A NUL byte ("x", NUL, "y"): that line is reported, the next one read. */
	t = signtab_new();
	snprintf(kt, sizeof(kt), "x@y\nk example.com:s1:%s\n", rsa_file);
	kt[1] = 0;
	assert_int_equal(import_n(t, kt, 4 + strlen(kt + 4), "*@example.com k\n"), -1);
	assert_true(reported("KeyTable:1:", "NUL byte"));
	assert_int_equal(nreports, 1);
	assert_non_null(signtab_lookup(t, "example.com", &fb));
	signtab_free(t);
}

/* Every kind of bad line is reported with file and line; nothing ignored. */
static void
test_import_errors(void **state)
{
	struct signtab *t = signtab_new();
	char	kt[2048], st[1024];

	(void) state;
	snprintf(kt, sizeof(kt),
		 "good  example.com:s1:%s\n"		/* 1 */
		 "rel   example.com:s2:keys/rel.key\n"	/* 2 */
		 "data  example.com:s3:MIIEvQIBADANBgkq\n"	/* 3 */
		 "nocol example.com\n"			/* 4 */
		 "good  example.org:s4:%s\n"		/* 5 */
		 "badsel example.com:s_(1):%s\n"	/* 6 */
		 "baddom not_a_domain:s1:%s\n"		/* 7 */
		 "broken example.com:s5:%s\n",		/* 8 */
		 rsa_file, rsa_file, rsa_file, rsa_file, bad_file);
	snprintf(st, sizeof(st),
		 "alice@example.com good\n"		/* 1 */
		 "example.com missing\n"		/* 2 */
		 "example.com good signer@example.com\n"	/* 3 */
		 "*.example.com good\n"			/* 4 */
		 "example.com broken\n"			/* 5 */
		 "broken.test broken\n");		/* 6: reported once */
	assert_int_equal(import(t, kt, st), -1);
	assert_true(reported("KeyTable:2:", "absolute file path"));
	assert_true(reported("KeyTable:3:", "absolute file path"));
	assert_true(reported("KeyTable:4:", "domain:selector:/path"));
	assert_true(reported("KeyTable:5:", "\"good\" already given on line 1"));
	assert_true(reported("KeyTable:6:", "not a selector"));
	assert_true(reported("KeyTable:7:", "not a domain name"));
	assert_true(reported("KeyTable:8:", "bad.key: neither a PEM"));
	assert_true(reported("SigningTable:1:", "per-user patterns"));
	assert_true(reported("SigningTable:2:", "\"missing\" is not in the KeyTable"));
	assert_true(reported("SigningTable:3:", "signer column"));
	assert_true(reported("SigningTable:4:", "only domain, .parent"));
	assert_int_equal(nreports, 11);
	signtab_free(t);
	clear_reports();
}

/* Missing files and over-long lines. */
static void
test_import_files(void **state)
{
	struct signtab *t = signtab_new();
	struct keytable_opts o = {1, NULL, collect, NULL};
	char	longline[6000], kt[128];

	(void) state;
	clear_reports();
	assert_int_equal(keytable_import(t, "/nonexistent/KeyTable", "/nonexistent/ST", &o), -1);
	assert_true(reported("KeyTable /nonexistent/KeyTable", "No such file"));
	memset(longline, 'x', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = 0;
	snprintf(kt, sizeof(kt), "%s", file("KeyTable", longline));
	clear_reports();
	assert_int_equal(keytable_import(t, kt, file("SigningTable", ""), &o), -1);
	assert_true(reported("KeyTable:1:", "longer than 4096"));
	assert_int_equal(nreports, 1);
	signtab_free(t);
	clear_reports();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_dual_and_limits),
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_import_spacing),
		cmocka_unit_test(test_import_errors),
		cmocka_unit_test(test_import_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
