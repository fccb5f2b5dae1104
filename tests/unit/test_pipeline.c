/*
 * test_pipeline - dispatch order, decisions, on_error, per-message cleanup,
 * with a table of recording stages in place of the real modules.
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

static char calls[256];			/* "A.mail B.mail ..." */
static int fail_a, decide_b, ends;

static void
record(const char *who, const char *what)
{
	strncat(calls, who, sizeof(calls) - strlen(calls) - 1);
	strncat(calls, what, sizeof(calls) - strlen(calls) - 1);
	strncat(calls, " ", sizeof(calls) - strlen(calls) - 1);
}

static int
a_mail(struct mw_msg *m, struct mw_reply *r)
{
	(void) m; (void) r;
	record("A", ".mail");
	return fail_a ? -1 : 0;
}

static int
a_eom(struct mw_msg *m, struct mw_reply *r)
{
	(void) m; (void) r;
	record("A", ".eom");
	return 0;
}

static int
b_mail(struct mw_msg *m, struct mw_reply *r)
{
	(void) m;
	record("B", ".mail");
	if (decide_b)
		reply_set(r, MW_REJECT, "550", "5.7.1", "no %s", "way");
	return 0;
}

static int
c_mail(struct mw_msg *m, struct mw_reply *r)
{
	(void) m; (void) r;
	record("C", ".mail");
	return 0;
}

static int
c_eom(struct mw_msg *m, struct mw_reply *r)
{
	(void) r;
	record("C", ".eom");
	return msg_insheader(m, 0, "X-Test", "1");
}

static void
any_end(struct mw_msg *m)
{
	(void) m;
	ends++;
}

static const struct mw_stage sa = {.name = "alpha", .mail = a_mail, .eom = a_eom, .msg_end = any_end};
static const struct mw_stage sb = {.name = "beta", .mail = b_mail, .msg_end = any_end};
static const struct mw_stage sc = {.name = "gamma", .mail = c_mail, .eom = c_eom, .msg_end = any_end};
static const struct mw_stage *const fake[MW_STAGE_COUNT] = {&sa, &sb, NULL, &sc};

static struct mw_conn conn;

/* with_conf - install a snapshot from text */
static void
with_conf(const char *text)
{
	char	path[] = "/tmp/mwpipeXXXXXX";
	struct conf_errors e;
	int	fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	close(fd);
	conf_install(conf_load(path, &e));
	unlink(path);
	assert_int_equal(e.n, 0);
	conf_errors_free(&e);
}

static int
reset(void **state)
{
	(void) state;
	calls[0] = 0;
	fail_a = decide_b = ends = 0;
	pipeline_use(fake);
	return 0;
}

static void
test_order_and_decision(void **state)
{
	struct mw_msg *m;
	struct mw_reply r;

	(void) state;
	with_conf("inbound_checks = no\n");
	m = msg_new(&conn);
	assert_int_equal(pipeline_mail(m, &r), 0);
	assert_int_equal(r.verdict, MW_CONTINUE);
	assert_string_equal(calls, "A.mail B.mail C.mail ");
	calls[0] = 0;
	decide_b = 1;
	assert_int_equal(pipeline_mail(m, &r), 0);
	assert_int_equal(r.verdict, MW_REJECT);
	assert_string_equal(r.rcode, "550");
	assert_string_equal(r.text, "no way");
	assert_string_equal(calls, "A.mail B.mail ");	/* C not asked */
	msg_free(m);
	assert_int_equal(ends, 3);
	msg_free(NULL);
}

static void
test_error_tempfail(void **state)
{
	struct mw_msg *m;
	struct mw_reply r;

	(void) state;
	with_conf("on_error = tempfail\ninbound_checks = no\n");
	m = msg_new(&conn);
	fail_a = 1;
	assert_int_equal(pipeline_mail(m, &r), -1);
	assert_int_equal(r.verdict, MW_TEMPFAIL);
	assert_string_equal(r.rcode, "451");
	assert_string_equal(r.xcode, "4.3.0");
	assert_string_equal(calls, "A.mail ");
	assert_non_null(strstr(m->notes, "error=alpha"));
	msg_free(m);
}

/* on_error = accept switches the failed stage off; the rest still run. */
static void
test_error_accept(void **state)
{
	struct mw_msg *m;
	struct mw_reply r;

	(void) state;
	with_conf("on_error = accept\ninbound_checks = no\n");
	m = msg_new(&conn);
	fail_a = 1;
	assert_int_equal(pipeline_mail(m, &r), -1);
	assert_int_equal(r.verdict, MW_CONTINUE);
	assert_string_equal(calls, "A.mail B.mail C.mail ");
	calls[0] = 0;
	/* No MTA actions bound: the stage's action fails, on_error again. */
	assert_int_equal(pipeline_eom(m, &r), -1);
	assert_string_equal(calls, "C.eom ");	/* A is off for this message */
	assert_non_null(strstr(m->notes, "error=alpha (stage off, on_error=accept)"));
	assert_non_null(strstr(m->notes, "error=gamma"));
	msg_free(m);
	/* The next message starts with every stage on. */
	m = msg_new(&conn);
	calls[0] = 0;
	fail_a = 0;
	assert_int_equal(pipeline_mail(m, &r), 0);
	assert_string_equal(calls, "A.mail B.mail C.mail ");
	msg_free(m);
}

/* A message keeps the snapshot it started with. */
static void
test_snapshot_per_message(void **state)
{
	struct mw_msg *m;

	(void) state;
	with_conf("on_error = accept\ninbound_checks = no\n");
	m = msg_new(&conn);
	with_conf("on_error = tempfail\ninbound_checks = no\n");
	assert_int_equal(m->conf->on_error, MW_ONERR_ACCEPT);
	msg_free(m);
	m = msg_new(&conn);
	assert_int_equal(m->conf->on_error, MW_ONERR_TEMPFAIL);
	msg_free(m);
}

/* The log line's notes are bounded, marked when cut, and cleaned. */
static void
test_notes(void **state)
{
	struct mw_msg *m;
	int	i;

	(void) state;
	with_conf("inbound_checks = no\n");
	m = msg_new(&conn);
	msg_note(m, "bad=%s", "a\r\nb\x01");
	assert_string_equal(m->notes, ", bad=a??b?");
	for (i = 0; i < 500; i++)
		msg_note(m, "n%d=xxxxxxxxxx", i);
	assert_true(strlen(m->notes) < sizeof(m->notes));
	assert_non_null(strstr(m->notes, ", ..."));
	assert_int_equal(m->notes_trunc, 1);
	msg_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_order_and_decision, reset),
		cmocka_unit_test_setup(test_error_tempfail, reset),
		cmocka_unit_test_setup(test_error_accept, reset),
		cmocka_unit_test_setup(test_snapshot_per_message, reset),
		cmocka_unit_test_setup(test_notes, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
