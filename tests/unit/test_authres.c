/*
 * NAME
 *	test_authres - Authentication-Results formatting and reading (authres.c)
 * DESCRIPTION
 *	The exact text of built header values (folding, token vs quoted
 *	values, addresses), and which existing headers claim our authserv-id.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "authres.h"

/* test_full - a typical header, exactly */
static void
test_full(void **state)
{
	struct authres ar;

	(void) state;
	authres_begin(&ar, "mx.example.com");
	authres_result(&ar, "spf", "pass", NULL);
	authres_prop_addr(&ar, "smtp.mailfrom", "alice@example.com");
	authres_result(&ar, "spf", "none", NULL);
	authres_prop(&ar, "smtp.helo", "client.example.com");
	authres_result(&ar, "dkim", "pass", NULL);
	authres_prop(&ar, "header.d", "example.com");
	authres_prop(&ar, "header.s", "sel1");
	authres_prop(&ar, "header.b", "AbC/dE+f");
	authres_result(&ar, "dmarc", "fail", "p=reject dis=reject");
	authres_prop(&ar, "header.from", "example.com");
	authres_prop(&ar, "policy.dmarc", "reject");
	assert_string_equal(authres_finish(&ar),
	    "mx.example.com;\n"
	    "\tspf=pass smtp.mailfrom=alice@example.com;\n"
	    "\tspf=none smtp.helo=client.example.com;\n"
	    "\tdkim=pass header.d=example.com header.s=sel1 header.b=\"AbC/dE+f\";\n"
	    "\tdmarc=fail (p=reject dis=reject) header.from=example.com policy.dmarc=reject");
	authres_free(&ar);
	authres_free(&ar);
}

/* test_none - no result: "id; none" */
static void
test_none(void **state)
{
	struct authres ar;

	(void) state;
	authres_begin(&ar, "mx.example.com");
	assert_string_equal(authres_finish(&ar), "mx.example.com; none");
	authres_free(&ar);
}

/* test_quoting - hostile values are quoted and cleaned */
static void
test_quoting(void **state)
{
	struct authres ar;

	(void) state;
	authres_begin(&ar, "mx");
	authres_result(&ar, "spf", "none", "bad (comment) \\ text");
	authres_prop(&ar, "smtp.helo", "[192.0.2.1]");
	authres_prop(&ar, "smtp.helo", "a \"b\"\\c\r\n; dkim=pass");
	authres_prop(&ar, "smtp.helo", "caf\xc3\xa9");
	authres_prop(&ar, "smtp.helo", "");
	assert_string_equal(authres_finish(&ar),
	    "mx;\n\tspf=none (bad comment  text) smtp.helo=\"[192.0.2.1]\""
	    " smtp.helo=\"a \\\"b\\\"\\\\c??; dkim=pass\""
	    " smtp.helo=\"caf??\" smtp.helo=\"\"");
	authres_free(&ar);
}

/* test_addresses - local@domain, domain alone, or quoted */
static void
test_addresses(void **state)
{
	struct authres ar;

	(void) state;
	authres_begin(&ar, "mx");
	authres_result(&ar, "spf", "pass", NULL);
	authres_prop_addr(&ar, "smtp.mailfrom", "a.b+tag@example.com");
	authres_prop_addr(&ar, "smtp.mailfrom", "\"a b\"@example.com");
	authres_prop_addr(&ar, "smtp.mailfrom", "a=b@example.com");
	authres_prop_addr(&ar, "smtp.mailfrom", ".a@example.com");
	authres_prop_addr(&ar, "smtp.mailfrom", "example.com");
	authres_prop_addr(&ar, "smtp.mailfrom", "a@[192.0.2.1]");
	authres_prop_addr(&ar, "smtp.mailfrom", "junk");
	assert_string_equal(authres_finish(&ar),
	    "mx;\n\tspf=pass smtp.mailfrom=a.b+tag@example.com smtp.mailfrom=example.com"
	    " smtp.mailfrom=example.com smtp.mailfrom=example.com smtp.mailfrom=example.com"
	    " smtp.mailfrom=\"a@[192.0.2.1]\" smtp.mailfrom=junk");
	authres_free(&ar);
}

/* test_bound - past AUTHRES_MAX the value is refused, not cut */
static void
test_bound(void **state)
{
	struct authres ar;
	char   *big = malloc(AUTHRES_MAX);

	(void) state;
	assert_non_null(big);
	memset(big, 'a', AUTHRES_MAX - 1);
	big[AUTHRES_MAX - 1] = 0;
	authres_begin(&ar, "mx");
	authres_result(&ar, "dkim", "pass", NULL);
	authres_prop(&ar, "header.d", big);
	assert_null(authres_finish(&ar));
	authres_free(&ar);
	free(big);
}

/* test_authserv_id - which headers claim to be ours */
static void
test_authserv_id(void **state)
{
	char	id[256];

	(void) state;
	assert_int_equal(authres_authserv_id(" mx.example.com; spf=pass", id, sizeof(id)), 0);
	assert_string_equal(id, "mx.example.com");
	assert_int_equal(authres_authserv_id("mx.example.com 1; none", id, sizeof(id)), 0);
	assert_string_equal(id, "mx.example.com");
	assert_int_equal(authres_authserv_id("(x (y)) \"mx.example.com\"; none", id, sizeof(id)), 0);
	assert_string_equal(id, "mx.example.com");
	assert_int_equal(authres_authserv_id("", id, sizeof(id)), -1);
	assert_int_equal(authres_authserv_id("; spf=pass", id, sizeof(id)), -1);
	assert_int_equal(authres_authserv_id("(unterminated mx.example.com;", id, sizeof(id)), -1);
	assert_int_equal(authres_authserv_id("\"unterminated", id, sizeof(id)), -1);

	assert_true(authres_is_ours("mx.example.com; spf=pass", "mx.example.com"));
	assert_true(authres_is_ours("MX.Example.COM;spf=pass", "mx.example.com"));
	assert_true(authres_is_ours("\tmx.example.com.\n ; none", "mx.example.com"));
	assert_true(authres_is_ours("(forged) mx.example.com 1; dkim=pass", "mx.example.com"));
	assert_true(authres_is_ours("\"mx.example.com\"; dmarc=pass", "mx.example.com"));
	assert_false(authres_is_ours("other.example.com; spf=pass", "mx.example.com"));
	assert_false(authres_is_ours("mx.example.com.evil; spf=pass", "mx.example.com"));
	assert_false(authres_is_ours("x.mx.example.com; spf=pass", "mx.example.com"));
	/* An authserv_id configured with a final dot: its own headers, and forgeries with or without the dot, are ours. */
	assert_true(authres_is_ours("mx.example.com.; none", "mx.example.com."));
	assert_true(authres_is_ours("mx.example.com; spf=pass", "mx.example.com."));
	assert_false(authres_is_ours("mx.example.co; spf=pass", "mx.example.com."));
	assert_false(authres_is_ours("mx.example.com..; spf=pass", "mx.example.com."));
	assert_false(authres_is_ours(".; spf=pass", "mx.example.com."));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_authserv_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
