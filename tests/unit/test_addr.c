/*
 * NAME
 *	test_addr - From header parsing and domain checks (addr.c)
 * DESCRIPTION
 *	Table-driven: each From field body either yields exactly the listed
 *	domains, or is refused. The hostile cases of issue 5 are here:
 *	several addresses, comments, quoted strings, encoded words, IDN,
 *	unterminated addresses, "example.net(.example.com".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"

struct from_case {
	const char *value;
	const char *domains;		/* space-separated; NULL: refused */
};

static const struct from_case from_cases[] = {
	/* plain forms */
	{"alice@example.com", "example.com"},
	{"Alice <alice@example.com>", "example.com"},
	{"  Alice Smith  <alice@Example.COM>  ", "example.com"},
	{"<alice@example.com>", "example.com"},
	{"\"Smith, Alice\" <alice@example.com>", "example.com"},
	{"alice@example.com.", "example.com"},
	{"Alice\r\n\t<alice@example.com>", "example.com"},
	/* several addresses: every domain, once */
	{"a@one.example, b@two.example", "one.example two.example"},
	{"a@one.example, b@ONE.example", "one.example"},
	{"a@one.example,,b@two.example", "one.example two.example"},
	{"Team: a@one.example, b@two.example;", "one.example two.example"},
	/* comments */
	{"alice@example.com (Alice)", "example.com"},
	{"(a@victim.example) x@evil.example", "evil.example"},
	{"alice@example.net(.example.com)", "example.net"},
	{"alice(c)@(c)example.com(c)", "example.com"},
	{"(nested (comment (deep))) a@example.com", "example.com"},
	/* quoted strings and addresses in display names */
	{"\"a@victim.example\" <x@evil.example>", "evil.example"},
	{"\"user@victim.example\"@evil.example", "evil.example"},
	{"\"quote \\\" inside\" <x@example.com>", "example.com"},
	/* encoded words */
	{"=?utf-8?q?Alice?= <alice@example.com>", "example.com"},
	{"=?utf-8?q?Doe,_John?= <j@example.com>", "example.com"},
	{"=?utf-8?q?bank=40victim.example?= <x@evil.example>", "evil.example"},
	/* a raw "@" in an encoded word is not RFC 2047: ambiguous, refused */
	{"=?utf-8?q?bank@victim.example?= <x@evil.example>", NULL},
	{"=?utf-8?b?dXNlckB2aWN0aW0uZXhhbXBsZQ==?=", NULL},
	{"user@=?utf-8?q?victim.example?=", NULL},
	/* IDN: U-labels become A-labels */
	{"J\xc3\xb6rg <j@b\xc3\xbc" "cher.example>", "xn--bcher-kva.example"},
	{"j@xn--bcher-kva.example", "xn--bcher-kva.example"},
	{"j@b\xff" "cher.example", NULL},
	/* obsolete route */
	{"<@relay.example,@r2.example:alice@example.com>", "example.com"},
	/* refused */
	{"", NULL},
	{"   ", NULL},
	{"Alice", NULL},
	{"undisclosed-recipients:;", NULL},
	{"alice@example.net(.example.com", NULL},
	{"Alice <alice@example.com", NULL},
	{"Alice <alice@example.com>>", NULL},
	{"<>", NULL},
	{"Alice <>", NULL},
	{"\"unterminated <a@example.com>", NULL},
	{"a@victim.example@evil.example", NULL},
	{"a@victim.example b@evil.example", NULL},
	{"Alice <a@victim.example> <b@evil.example>", NULL},
	{"<a@victim.example <b@evil.example>>", NULL},
	{"alice@[192.0.2.1]", NULL},
	{"alice@", NULL},
	{"@example.com", NULL},
	{"alice@exa_mple.com", NULL},
	{"alice@-example.com", NULL},
	{"alice@example..com", NULL},
	{"john doe@example.com", NULL},
	{"a@example.com; b@example.org", NULL},
	{"a@exam\x01ple.com", NULL},
	{"(((((((((((((((((((((((((((((((((((a@example.com)))))))))))))))))))))))))))))))))))", NULL},
};

/* join_domains - the result as "d1 d2 ..." */
static void
join_domains(const struct addr_from *f, char *buf, size_t len)
{
	unsigned i;

	*buf = 0;
	for (i = 0; i < f->ndomain; i++) {
		strncat(buf, i ? " " : "", len - strlen(buf) - 1);
		strncat(buf, f->domain[i], len - strlen(buf) - 1);
	}
}

/* test_from_table - every row of from_cases */
static void
test_from_table(void **state)
{
	struct addr_from f;
	char	err[128], got[2048];
	size_t	i;
	int	rc;

	(void) state;
	for (i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]); i++) {
		const struct from_case *c = &from_cases[i];

		rc = addr_parse_from(c->value, &f, err, sizeof(err));
		if (c->domains == NULL) {
			if (rc != -1)
				fail_msg("row %zu \"%s\": accepted, want refused", i, c->value);
			assert_true(*err != 0);
			continue;
		}
		if (rc != 0)
			fail_msg("row %zu \"%s\": refused (%s)", i, c->value, err);
		join_domains(&f, got, sizeof(got));
		if (strcmp(got, c->domains) != 0)
			fail_msg("row %zu \"%s\": got \"%s\", want \"%s\"", i, c->value,
				 got, c->domains);
	}
}

/* test_from_reasons - the reason names the problem */
static void
test_from_reasons(void **state)
{
	struct addr_from f;
	char	err[128];

	(void) state;
	assert_int_equal(addr_parse_from("a@example.net(.example.com", &f, err, sizeof(err)), -1);
	assert_string_equal(err, "unterminated comment");
	assert_int_equal(addr_parse_from("A <a@example.com", &f, err, sizeof(err)), -1);
	assert_string_equal(err, "unterminated address");
	assert_int_equal(addr_parse_from("Alice", &f, err, sizeof(err)), -1);
	assert_string_equal(err, "display name without an address");
	assert_int_equal(addr_parse_from("x:;", &f, err, sizeof(err)), -1);
	assert_string_equal(err, "no address");
}

/* test_from_many - more than ADDR_MAX_MAILBOXES is refused, not cut */
static void
test_from_many(void **state)
{
	struct addr_from f;
	char	err[128], *v;
	size_t	len = 0, i;

	(void) state;
	v = malloc(64 * (ADDR_MAX_MAILBOXES + 1));
	assert_non_null(v);
	for (i = 0; i < ADDR_MAX_MAILBOXES; i++)
		len += (size_t) sprintf(v + len, "%su%zu@d%zu.example", i ? ", " : "", i, i);
	assert_int_equal(addr_parse_from(v, &f, err, sizeof(err)), 0);
	assert_int_equal(f.ndomain, ADDR_MAX_MAILBOXES);
	sprintf(v + len, ", last@example.com");
	assert_int_equal(addr_parse_from(v, &f, err, sizeof(err)), -1);
	assert_string_equal(err, "too many addresses");
	free(v);
}

/* test_from_huge - a long field is parsed to its end in linear time */
static void
test_from_huge(void **state)
{
	struct addr_from f;
	char	err[128], *v;
	size_t	n = 1 << 20;

	(void) state;
	v = malloc(n + 64);
	assert_non_null(v);
	memset(v, 'a', n);
	strcpy(v + n, " <x@example.com>");
	assert_int_equal(addr_parse_from(v, &f, err, sizeof(err)), 0);
	assert_string_equal(f.domain[0], "example.com");
	memset(v, 'a', n);
	strcpy(v + n, "@example.com");	/* a 1 MB domain-less local part is fine */
	assert_int_equal(addr_parse_from(v, &f, err, sizeof(err)), 0);
	memset(v, 'a', n);
	strcpy(v, "x@");		/* a 1 MB domain is not a host name */
	v[n] = 0;
	assert_int_equal(addr_parse_from(v, &f, err, sizeof(err)), -1);
	free(v);
}

/* test_domain_ascii - host name forms */
static void
test_domain_ascii(void **state)
{
	char	out[ADDR_DOMAIN_LEN];
	char	label64[80];

	(void) state;
	assert_int_equal(addr_domain_ascii("Example.COM", 11, out, sizeof(out)), 0);
	assert_string_equal(out, "example.com");
	assert_int_equal(addr_domain_ascii("b\xc3\xbc" "cher.example",
					   strlen("b\xc3\xbc" "cher.example"), out, sizeof(out)), 0);
	assert_string_equal(out, "xn--bcher-kva.example");
	assert_int_equal(addr_domain_ascii("", 0, out, sizeof(out)), -1);
	assert_int_equal(addr_domain_ascii(".", 1, out, sizeof(out)), -1);
	assert_int_equal(addr_domain_ascii("a.-b", 4, out, sizeof(out)), -1);
	assert_int_equal(addr_domain_ascii("a-.b", 4, out, sizeof(out)), -1);
	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".com");
	assert_int_equal(addr_domain_ascii(label64, strlen(label64), out, sizeof(out)), -1);
	assert_int_equal(addr_domain_ascii(label64 + 1, strlen(label64 + 1), out, sizeof(out)), 0);
}

/* test_sender_and_subdomain - envelope domains, subdomain matching */
static void
test_sender_and_subdomain(void **state)
{
	char	d[ADDR_DOMAIN_LEN];

	(void) state;
	assert_int_equal(addr_sender_domain("bob@Mail.Example.com", d, sizeof(d)), 0);
	assert_string_equal(d, "mail.example.com");
	assert_int_equal(addr_sender_domain("\"a@b\"@example.org", d, sizeof(d)), 0);
	assert_string_equal(d, "example.org");
	assert_int_equal(addr_sender_domain("", d, sizeof(d)), -1);
	assert_int_equal(addr_sender_domain("postmaster", d, sizeof(d)), -1);
	assert_int_equal(addr_sender_domain("a@[192.0.2.1]", d, sizeof(d)), -1);
	assert_true(addr_is_subdomain("example.com", "example.com"));
	assert_true(addr_is_subdomain("a.b.example.com", "Example.com"));
	assert_false(addr_is_subdomain("notexample.com", "example.com"));
	assert_false(addr_is_subdomain("example.com", "a.example.com"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_table),
		cmocka_unit_test(test_from_reasons),
		cmocka_unit_test(test_from_many),
		cmocka_unit_test(test_from_huge),
		cmocka_unit_test(test_domain_ascii),
		cmocka_unit_test(test_sender_and_subdomain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
