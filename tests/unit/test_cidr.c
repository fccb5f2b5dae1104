/*
 * test_cidr - CIDR parsing and matching, IPv4 and IPv6.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cidr.h"

static int
matches(const char *net, const char *addr)
{
	struct cidr c;
	struct sockaddr_storage ss;
	char	err[256];

	assert_int_equal(cidr_parse(net, &c, err, sizeof(err)), 0);
	assert_int_equal(cidr_sockaddr(addr, &ss), 0);
	return cidr_match(&c, (struct sockaddr *) &ss);
}

static void
test_parse_good(void **state)
{
	static const char *const good[] = {
		"0.0.0.0/0", "10.0.0.0/8", "192.0.2.1", "192.0.2.1/32", "::/0",
		"2001:db8::/32", "2001:db8::1/128", "::1", "fe80::/10",
	};
	struct cidr c;
	char	err[256];
	size_t	i;

	(void) state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(cidr_parse(good[i], &c, err, sizeof(err)), 0);
}

static void
test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.1/8", "10.0.0.0/8x",
		"10.0.0", "300.1.1.1", "2001:db8::/129", "2001:db8::1/32",
		"example.com", "10.0.0.0/", "/8", "10.0.0.0/08a",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999/128",
	};
	struct cidr c;
	char	err[256];
	size_t	i;

	(void) state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(cidr_parse(bad[i], &c, err, sizeof(err)), -1);
		assert_true(strlen(err) > 0);
	}
}

static void
test_match_v4(void **state)
{
	(void) state;
	assert_true(matches("10.0.0.0/8", "10.255.1.2"));
	assert_false(matches("10.0.0.0/8", "11.0.0.0"));
	assert_true(matches("192.0.2.128/25", "192.0.2.200"));
	assert_false(matches("192.0.2.128/25", "192.0.2.127"));
	assert_true(matches("0.0.0.0/0", "203.0.113.9"));
	assert_true(matches("192.0.2.1", "192.0.2.1"));
	assert_false(matches("192.0.2.1", "192.0.2.2"));
	/* An IPv4-mapped IPv6 client matches IPv4 networks. */
	assert_true(matches("10.0.0.0/8", "::ffff:10.1.2.3"));
	assert_false(matches("10.0.0.0/8", "::ffff:11.1.2.3"));
	/* An IPv4 client never matches an IPv6 network, and back. */
	assert_false(matches("::/0", "10.0.0.1"));
	assert_false(matches("0.0.0.0/0", "2001:db8::1"));
}

static void
test_match_v6(void **state)
{
	(void) state;
	assert_true(matches("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(matches("2001:db8::/32", "2001:db9::1"));
	assert_true(matches("2001:db8:0:80::/57", "2001:db8:0:ff::1"));
	assert_false(matches("2001:db8:0:80::/57", "2001:db8:0:7f::1"));
	assert_true(matches("::1/128", "::1"));
	assert_false(matches("::1/128", "::2"));
}

static void
test_list(void **state)
{
	struct cidr_list l = {0};
	struct cidr c;
	struct sockaddr_storage ss;
	char	err[256];

	(void) state;
	assert_int_equal(cidr_parse("192.0.2.0/24", &c, err, sizeof(err)), 0);
	assert_int_equal(cidr_list_add(&l, &c), 0);
	assert_int_equal(cidr_parse("2001:db8::/32", &c, err, sizeof(err)), 0);
	assert_int_equal(cidr_list_add(&l, &c), 0);
	cidr_sockaddr("2001:db8::5", &ss);
	assert_true(cidr_list_match(&l, (struct sockaddr *) &ss));
	cidr_sockaddr("198.51.100.1", &ss);
	assert_false(cidr_list_match(&l, (struct sockaddr *) &ss));
	cidr_list_free(&l);
	cidr_list_free(&l);		/* safe twice */
	assert_false(cidr_list_match(&l, (struct sockaddr *) &ss));
	assert_int_equal(cidr_sockaddr("not-an-ip", &ss), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_match_v4),
		cmocka_unit_test(test_match_v6),
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
