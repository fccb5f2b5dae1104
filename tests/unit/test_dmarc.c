/*
 * NAME
 *	test_dmarc - DMARC logic without DNS (dmarc.c)
 * DESCRIPTION
 *	Organizational domains and alignment on a small public suffix list
 *	written by the test (and on Debian's list when installed), record
 *	selection, record reading by libopendmarc, and the decision: pass,
 *	fail, p vs sp, pct sampling at its edges, temperror.
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

#include "dmarc.h"

#define DEBIAN_PSL "/usr/share/publicsuffix/public_suffix_list.dat"

static psl_ctx_t *psl;

/* setup - a public suffix list of our own */
static int
setup(void **state)
{
	char	path[] = "/tmp/test_dmarc_psl.XXXXXX";
	char	err[256];
	int	fd = mkstemp(path);
	static const char list[] =
	    "// test list\ncom\nuk\nco.uk\n*.ck\n!www.ck\ntest\ngithub.io\n";

	(void) state;
	if (fd < 0 || write(fd, list, sizeof(list) - 1) != (ssize_t) sizeof(list) - 1)
		return -1;
	close(fd);
	if (dmarceval_psl_load(path, &psl, err, sizeof(err)) < 0)
		return -1;
	unlink(path);
	return 0;
}

/* teardown - free the list */
static int
teardown(void **state)
{
	(void) state;
	psl_free(psl);
	return 0;
}

/* test_orgdomain - RFC 7489 3.2 on the list */
static void
test_orgdomain(void **state)
{
	static const char *const cases[][2] = {
		{"example.com", "example.com"},
		{"a.b.example.com", "example.com"},
		{"mail.example.co.uk", "example.co.uk"},
		{"co.uk", "co.uk"},
		{"x.y.example.ck", "y.example.ck"},
		{"a.www.ck", "www.ck"},
		{"sub.example.test", "example.test"},
		{"foo.github.io", "foo.github.io"},
		{"a.foo.github.io", "foo.github.io"},
	};
	char	out[254];
	size_t	i;

	(void) state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dmarceval_orgdomain(psl, cases[i][0], out, sizeof(out));
		if (strcmp(out, cases[i][1]) != 0)
			fail_msg("%s: got %s, want %s", cases[i][0], out, cases[i][1]);
	}
}

/* test_debian_psl - the installed list gives the same answers */
static void
test_debian_psl(void **state)
{
	psl_ctx_t *deb;
	char	out[254], err[256];

	(void) state;
	if (access(DEBIAN_PSL, R_OK) != 0)
		skip();
	assert_int_equal(dmarceval_psl_load(DEBIAN_PSL, &deb, err, sizeof(err)), 0);
	dmarceval_orgdomain(deb, "mail.example.co.uk", out, sizeof(out));
	assert_string_equal(out, "example.co.uk");
	dmarceval_orgdomain(deb, "a.b.example.com", out, sizeof(out));
	assert_string_equal(out, "example.com");
	psl_free(deb);
	assert_int_equal(dmarceval_psl_load("/nonexistent/psl.dat", &deb, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/psl.dat"));
}

/* test_aligned - relaxed and strict */
static void
test_aligned(void **state)
{
	(void) state;
	assert_true(dmarceval_aligned(psl, "example.com", "example.com", 1));
	assert_true(dmarceval_aligned(psl, "example.com", "EXAMPLE.com", 1));
	assert_false(dmarceval_aligned(psl, "example.com", "mail.example.com", 1));
	assert_true(dmarceval_aligned(psl, "example.com", "mail.example.com", 0));
	assert_true(dmarceval_aligned(psl, "a.example.com", "b.example.com", 0));
	assert_false(dmarceval_aligned(psl, "example.com", "notexample.com", 0));
	assert_false(dmarceval_aligned(psl, "example.com", "example.com.evil.com", 0));
	/* a public suffix never aligns with a domain under it */
	assert_false(dmarceval_aligned(psl, "bank.co.uk", "co.uk", 0));
	assert_false(dmarceval_aligned(psl, "foo.github.io", "bar.github.io", 0));
	assert_false(dmarceval_aligned(psl, "example.com", "", 0));
	assert_false(dmarceval_aligned(psl, "", "", 0));
}

/* test_pick - exactly one v=DMARC1 record */
static void
test_pick(void **state)
{
	const char *rec;

	(void) state;
	assert_int_equal(dmarceval_pick("v=DMARC1; p=reject\0", 1, &rec), 1);
	assert_string_equal(rec, "v=DMARC1; p=reject");
	assert_int_equal(dmarceval_pick("other\0v = DMARC1;p=none\0", 2, &rec), 1);
	assert_string_equal(rec, "v = DMARC1;p=none");
	assert_int_equal(dmarceval_pick("v=DMARC1\0", 1, &rec), 1);
	assert_int_equal(dmarceval_pick("v=DMARC10; p=none\0v=dmarc1; p=none\0", 2, &rec), 0);
	assert_null(rec);
	assert_int_equal(dmarceval_pick("v=spf1 -all\0\0", 2, &rec), 0);
	assert_int_equal(dmarceval_pick("", 0, &rec), 0);
	assert_int_equal(dmarceval_pick("v=DMARC1; p=none\0v=DMARC1; p=reject\0", 2, &rec), -1);
}

/* test_parse - libopendmarc reads the record */
static void
test_parse(void **state)
{
	struct dmarceval_record r;
	const char *why;

	(void) state;
	assert_int_equal(dmarceval_parse("v=DMARC1; p=reject", "example.com", &r, &why), 1);
	assert_int_equal(r.p, DP_REJECT);
	assert_int_equal(r.sp, DP_REJECT);
	assert_false(r.has_sp);
	assert_int_equal(r.pct, 100);
	assert_false(r.adkim_strict);
	assert_false(r.aspf_strict);
	assert_int_equal(dmarceval_parse("v=DMARC1; p=none; sp=quarantine; pct=30; adkim=s; aspf=s",
					 "example.com", &r, &why), 1);
	assert_int_equal(r.p, DP_NONE);
	assert_int_equal(r.sp, DP_QUARANTINE);
	assert_true(r.has_sp);
	assert_int_equal(r.pct, 30);
	assert_true(r.adkim_strict);
	assert_true(r.aspf_strict);
	assert_int_equal(dmarceval_parse("v=DMARC1; pct=0; p=quarantine", "example.com", &r, &why), 1);
	assert_int_equal(r.pct, 0);
	assert_int_equal(dmarceval_parse("v=DMARC1; sp=none", "example.com", &r, &why), 0);
	assert_string_equal(why, "DMARC record without p=");
	assert_int_equal(dmarceval_parse("v=DMARC1; p=bogus", "example.com", &r, &why), 0);
	assert_string_equal(why, "malformed DMARC record");
	assert_int_equal(dmarceval_parse("v=DMARC1; p=reject; pct=101", "example.com", &r, &why), 0);
}

/* decide - one decision for a From domain */
static void
decide(const char *record, const char *from, int at_org, const struct dmarceval_auth *a,
       unsigned roll, struct dmarceval_out *out)
{
	struct dmarceval_record r;
	const char *why;

	assert_int_equal(dmarceval_parse(record, from, &r, &why), 1);
	memset(out, 0, sizeof(*out));
	snprintf(out->from, sizeof(out->from), "%s", from);
	dmarceval_decide(psl, &r, at_org, a, roll, out);
}

/* test_decide_alignment - SPF and DKIM, relaxed and strict */
static void
test_decide_alignment(void **state)
{
	struct dmarceval_dkim sig = {"mail.example.com", 1, 0};
	struct dmarceval_auth spf_only = {"bounce.example.com", 1, 0, NULL, 0};
	struct dmarceval_auth dkim_only = {"", 0, 0, &sig, 1};
	struct dmarceval_auth spf_fail = {"example.com", 0, 0, NULL, 0};
	struct dmarceval_out o;

	(void) state;
	decide("v=DMARC1; p=reject", "example.com", 0, &spf_only, 0, &o);
	assert_int_equal(o.result, DR_PASS);
	decide("v=DMARC1; p=reject; aspf=s", "example.com", 0, &spf_only, 0, &o);
	assert_int_equal(o.result, DR_FAIL);
	assert_int_equal(o.effective, DP_REJECT);
	decide("v=DMARC1; p=reject", "example.com", 0, &dkim_only, 0, &o);
	assert_int_equal(o.result, DR_PASS);
	decide("v=DMARC1; p=reject; adkim=s", "example.com", 0, &dkim_only, 0, &o);
	assert_int_equal(o.result, DR_FAIL);
	decide("v=DMARC1; p=quarantine", "example.com", 0, &spf_fail, 0, &o);
	assert_int_equal(o.result, DR_FAIL);
	assert_int_equal(o.policy, DP_QUARANTINE);
	sig.pass = 0;
	decide("v=DMARC1; p=reject", "example.com", 0, &dkim_only, 0, &o);
	assert_int_equal(o.result, DR_FAIL);
}

/* test_decide_sp - sp applies to a policy found at the organizational domain */
static void
test_decide_sp(void **state)
{
	struct dmarceval_auth none = {"", 0, 0, NULL, 0};
	struct dmarceval_out o;

	(void) state;
	decide("v=DMARC1; p=none; sp=reject", "example.com", 0, &none, 0, &o);
	assert_int_equal(o.policy, DP_NONE);
	assert_false(o.sp_applied);
	decide("v=DMARC1; p=none; sp=reject", "sub.example.com", 1, &none, 0, &o);
	assert_int_equal(o.policy, DP_REJECT);
	assert_true(o.sp_applied);
	decide("v=DMARC1; p=quarantine", "sub.example.com", 1, &none, 0, &o);
	assert_int_equal(o.policy, DP_QUARANTINE);
	assert_false(o.sp_applied);
}

/* test_decide_pct - sampled when roll < pct; else the milder policy */
static void
test_decide_pct(void **state)
{
	struct dmarceval_auth none = {"", 0, 0, NULL, 0};
	struct dmarceval_out o;
	unsigned roll;

	(void) state;
	for (roll = 0; roll < 100; roll++) {
		decide("v=DMARC1; p=reject; pct=0", "example.com", 0, &none, roll, &o);
		assert_int_equal(o.effective, DP_QUARANTINE);
		decide("v=DMARC1; p=quarantine; pct=0", "example.com", 0, &none, roll, &o);
		assert_int_equal(o.effective, DP_NONE);
		decide("v=DMARC1; p=reject; pct=100", "example.com", 0, &none, roll, &o);
		assert_int_equal(o.effective, DP_REJECT);
	}
	decide("v=DMARC1; p=reject; pct=50", "example.com", 0, &none, 49, &o);
	assert_int_equal(o.effective, DP_REJECT);
	decide("v=DMARC1; p=reject; pct=50", "example.com", 0, &none, 50, &o);
	assert_int_equal(o.effective, DP_QUARANTINE);
	assert_int_equal(o.pct, 50);
}

/* test_decide_temperror - only an aligned temporary error can change it */
static void
test_decide_temperror(void **state)
{
	struct dmarceval_dkim temp = {"example.com", 0, 1};
	struct dmarceval_dkim other = {"other.com", 0, 1};
	struct dmarceval_auth dkim_temp = {"", 0, 0, &temp, 1};
	struct dmarceval_auth dkim_other = {"", 0, 0, &other, 1};
	struct dmarceval_auth spf_temp = {"example.com", 0, 1, NULL, 0};
	struct dmarceval_auth spf_temp_other = {"other.com", 0, 1, NULL, 0};
	struct dmarceval_out o;

	(void) state;
	decide("v=DMARC1; p=reject", "example.com", 0, &dkim_temp, 0, &o);
	assert_int_equal(o.result, DR_TEMPERROR);
	decide("v=DMARC1; p=reject", "example.com", 0, &spf_temp, 0, &o);
	assert_int_equal(o.result, DR_TEMPERROR);
	decide("v=DMARC1; p=reject", "example.com", 0, &dkim_other, 0, &o);
	assert_int_equal(o.result, DR_FAIL);
	decide("v=DMARC1; p=reject", "example.com", 0, &spf_temp_other, 0, &o);
	assert_int_equal(o.result, DR_FAIL);
	decide("v=DMARC1; p=none", "example.com", 0, &dkim_temp, 0, &o);
	assert_int_equal(o.result, DR_FAIL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orgdomain),
		cmocka_unit_test(test_debian_psl),
		cmocka_unit_test(test_aligned),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_decide_alignment),
		cmocka_unit_test(test_decide_sp),
		cmocka_unit_test(test_decide_pct),
		cmocka_unit_test(test_decide_temperror),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
