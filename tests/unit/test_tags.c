/*
 * test_tags - DKIM tag=value lists (tags.c): values found with folding
 * white space removed, absent tags, values that do not fit, and lists
 * that end before a tag name could (a read past the string once).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tags.h"

struct tcase {
	const char *list, *tag;
	size_t	outlen;
	int	rc;
	const char *value;
};

static const struct tcase cases[] = {
	{"v=1; d=example.com; s=sel", "d", 64, 0, "example.com"},
	{"v=1; d=example.com; s=sel", "s", 64, 0, "sel"},
	{" d \r\n\t= exa mple\r\n .com ;", "d", 64, 0, "example.com"},
	{"dd=x; d=y", "d", 64, 0, "y"},
	{"bh=abc; b=def", "b", 64, 0, "def"},
	{"bh=abc; b=def", "bh", 64, 0, "abc"},
	{"p=", "p", 64, 0, ""},
	{"v=DKIM1; k=rsa", "p", 64, -1, NULL},
	{"d=example.com", "d", 11, -1, NULL},	/* does not fit: an error, not cut */
	{"d=example.com", "d", 12, 0, "example.com"},
	{"d=x", "d", 0, -1, NULL},
	/* Shorter than the tag name, at the start and after a ';'. */
	{"b", "bh", 64, -1, NULL},
	{"x=1;b", "bh", 64, -1, NULL},
	{"x=1; ", "ver", 64, -1, NULL},
	{"", "d", 64, -1, NULL},
	{";;;", "d", 64, -1, NULL},
};

/* test_table - every case, the list in a buffer of exactly its size */
static void
test_table(void **state)
{
	char	out[64];
	size_t	i;

	(void) state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		char   *list = strdup(c->list);	/* a sanitizer sees past its end */

		assert_non_null(list);
		assert_int_equal(tags_get(list, c->tag, out, c->outlen), c->rc);
		if (c->rc == 0)
			assert_string_equal(out, c->value);
		free(list);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
