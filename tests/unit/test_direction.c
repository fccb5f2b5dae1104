/*
 * test_direction - inbound or outbound, and why.
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

static struct mw_conf *conf;

static int
setup(void **state)
{
	char	path[] = "/tmp/mwdirXXXXXX";
	const char *text = "internal_hosts = {192.0.2.0/24, 2001:db8:1::/48}\n"
	    "internal_daemons = {submission}\n";
	struct conf_errors e;
	int	fd = mkstemp(path);

	(void) state;
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		return -1;
	close(fd);
	conf = conf_load(path, &e);
	unlink(path);
	conf_errors_free(&e);
	return conf ? 0 : -1;
}

static int
teardown(void **state)
{
	(void) state;
	conf_release(conf);
	return 0;
}

/* classify - direction of a client; *why set */
static enum mw_dir
classify(const char *addr, const char *daemon, const char *user, const char **why)
{
	struct mw_conn c;

	memset(&c, 0, sizeof(c));
	if (addr) {
		assert_int_equal(cidr_sockaddr(addr, &c.ss), 0);
		c.has_addr = 1;
	}
	snprintf(c.daemon_name, sizeof(c.daemon_name), "%s", daemon ? daemon : "");
	return direction_of(conf, &c, user, why);
}

static void
test_table(void **state)
{
	static const struct {
		const char *addr, *daemon, *user;
		enum mw_dir dir;
		const char *why;
	}	cases[] = {
		{"198.51.100.7", "smtpd", NULL, MW_DIR_INBOUND, "external"},
		{"198.51.100.7", "smtpd", "", MW_DIR_INBOUND, "external"},
		{"198.51.100.7", "smtpd", "alice", MW_DIR_OUTBOUND, "sasl"},
		{"192.0.2.55", "smtpd", NULL, MW_DIR_OUTBOUND, "internal_hosts"},
		{"192.0.3.1", "smtpd", NULL, MW_DIR_INBOUND, "external"},
		{"2001:db8:1:ff::9", NULL, NULL, MW_DIR_OUTBOUND, "internal_hosts"},
		{"2001:db8:2::9", NULL, NULL, MW_DIR_INBOUND, "external"},
		{"::ffff:192.0.2.9", NULL, NULL, MW_DIR_OUTBOUND, "internal_hosts"},
		{"198.51.100.7", "submission", NULL, MW_DIR_OUTBOUND, "internal_daemons"},
		{"198.51.100.7", "submissions", NULL, MW_DIR_INBOUND, "external"},
		{NULL, NULL, NULL, MW_DIR_INBOUND, "external"},	/* no address (pickup) */
		{"192.0.2.1", "submission", "bob", MW_DIR_OUTBOUND, "sasl"},	/* first reason */
	};
	size_t	i;

	(void) state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		enum mw_dir d = classify(cases[i].addr, cases[i].daemon, cases[i].user, &why);

		if (d != cases[i].dir || strcmp(why, cases[i].why) != 0)
			fail_msg("case %zu: got %s (%s)", i, dir_name(d), why);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
