/*
 * test_ratelimit - the rate-limit stage on a clock moved by hand (the
 * link wraps clock_now_us): rules from real config files, decisions at
 * MAIL FROM and RCPT TO, the SMTP answers and log notes, several rules,
 * exceptions, shadow mode, state across a reload, an unreachable Redis,
 * and the mailwarden-ctl commands.
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

#include "mailwarden.h"
#include "config.h"
#include "ratelimit.h"

#define SEC	INT64_C(1000000)

extern const struct mw_stage stage_ratelimit;

static int64_t fake_now = INT64_C(5000) * SEC;

int64_t	__wrap_clock_now_us(void);

/* __wrap_clock_now_us - the test's clock */
int64_t
__wrap_clock_now_us(void)
{
	return fake_now;
}

/* load - a snapshot from config text (plus a socket line); NULL and errors */
static struct mw_conf *
load(const char *text, struct conf_errors *e)
{
	char	path[] = "/tmp/mwrlXXXXXX";
	int	fd = mkstemp(path);
	const char *head = "socket = \"inet:1@127.0.0.1\"\npid_file = \"\"\nuser = \"\"\n";
	struct mw_conf *c;

	assert_true(fd >= 0);
	assert_true(write(fd, head, strlen(head)) > 0);
	assert_true(write(fd, text, strlen(text)) >= 0);
	close(fd);
	c = conf_load(path, e);
	unlink(path);
	return c;
}

/* load_ok - a snapshot that must load */
static struct mw_conf *
load_ok(const char *text)
{
	struct conf_errors e;
	struct mw_conf *c = load(text, &e);

	if (c == NULL)
		conf_errors_print(&e, stderr);
	conf_errors_free(&e);
	assert_non_null(c);
	return c;
}

/* load_err - a config that must fail with an error containing what */
static void
load_err(const char *text, const char *what)
{
	struct conf_errors e;
	struct mw_conf *c = load(text, &e);
	unsigned i;
	int	found = 0;

	assert_null(c);
	for (i = 0; i < e.n; i++)
		found |= strstr(e.msg[i], what) != NULL;
	if (!found)
		conf_errors_print(&e, stderr);
	assert_true(found);
	conf_errors_free(&e);
}

/* A connection and a message, built by hand as milter.c would. */
struct tmsg {
	struct mw_conn conn;
	struct mw_msg msg;
	struct mw_reply r;
};

/* tmsg_init - client addr (or NULL), SASL user (or ""), sender, direction */
static struct tmsg *
tmsg_init(struct tmsg *t, struct mw_conf *c, const char *addr, const char *user,
	  const char *from, enum mw_dir dir)
{
	memset(t, 0, sizeof(*t));
	if (addr) {
		assert_int_equal(cidr_sockaddr(addr, &t->conn.ss), 0);
		t->conn.has_addr = 1;
		snprintf(t->conn.addr, sizeof(t->conn.addr), "%s", addr);
	}
	t->conn.conf = c;
	t->msg.conn = &t->conn;
	t->msg.conf = c;
	t->msg.dir = dir;
	snprintf(t->msg.auth_user, sizeof(t->msg.auth_user), "%s", user);
	snprintf(t->msg.mailfrom, sizeof(t->msg.mailfrom), "%s", from);
	return t;
}

/* mail - the stage at MAIL FROM on a fresh message; the verdict */
static enum mw_verdict
mail(struct tmsg *t)
{
	t->msg.notes_len = 0;
	t->msg.notes[0] = 0;
	memset(&t->r, 0, sizeof(t->r));
	assert_int_equal(stage_ratelimit.mail(&t->msg, &t->r), 0);
	return t->r.verdict;
}

/* rcpt - the stage at one RCPT TO; the verdict */
static enum mw_verdict
rcpt(struct tmsg *t, const char *to)
{
	memset(&t->r, 0, sizeof(t->r));
	assert_int_equal(stage_ratelimit.rcpt(&t->msg, to, &t->r), 0);
	return t->r.verdict;
}

/* ctl - run a mailwarden-ctl command on a snapshot; its status, text in out */
static int
ctl(struct mw_conf *c, ratelimit_ctl_fn fn, char *out, size_t len, ...)
{
	char   *argv[16];
	int	argc = 0;
	va_list ap;

	va_start(ap, len);
	while (argc < 16 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	return fn(c, argc, argv, out, len);
}

static const char *per_user =
"ratelimit \"per-user\" {\n key = {sasl_user}\n rate = 60\n period = 60\n burst = 3\n}\n";

/* Burst, then one per interval; the answer names the rule. */
static void
test_burst_then_rate(void **state)
{
	struct mw_conf *c = load_ok(per_user);
	struct tmsg t;
	int	i;

	(void) state;
	tmsg_init(&t, c, "192.0.2.1", "alice", "alice@example.com", MW_DIR_OUTBOUND);
	for (i = 0; i < 3; i++)
		assert_int_equal(mail(&t), MW_CONTINUE);
	assert_non_null(strstr(t.msg.notes, "ratelimit=per-user ok left=0"));
	assert_int_equal(mail(&t), MW_TEMPFAIL);
	assert_string_equal(t.r.rcode, "451");
	assert_string_equal(t.r.xcode, "4.7.1");
	assert_string_equal(t.r.text, "Rate limit \"per-user\" exceeded, try again in 1 seconds");
	assert_non_null(strstr(t.msg.notes, "ratelimit=per-user over retry=1.0s"));
	fake_now += SEC - 1;
	assert_int_equal(mail(&t), MW_TEMPFAIL);
	fake_now += 1;
	assert_int_equal(mail(&t), MW_CONTINUE);
	assert_int_equal(mail(&t), MW_TEMPFAIL);
	fake_now += 10 * SEC;			/* at rest again: the whole burst */
	for (i = 0; i < 3; i++)
		assert_int_equal(mail(&t), MW_CONTINUE);
	assert_int_equal(mail(&t), MW_TEMPFAIL);
	conf_release(c);
}

/* Many refusals do not delay the next allowed message. */
static void
test_refused_costs_nothing(void **state)
{
	struct mw_conf *c = load_ok(per_user);
	struct tmsg t;
	int	i;

	(void) state;
	fake_now += 100 * SEC;
	tmsg_init(&t, c, NULL, "bob", "bob@example.com", MW_DIR_OUTBOUND);
	for (i = 0; i < 3; i++)
		assert_int_equal(mail(&t), MW_CONTINUE);
	for (i = 0; i < 500; i++)
		assert_int_equal(mail(&t), MW_TEMPFAIL);
	fake_now += SEC;
	assert_int_equal(mail(&t), MW_CONTINUE);
	conf_release(c);
}

static const char *two_rules =
"ratelimit \"user5\" {\n key = {sasl_user}\n rate = 5\n period = 3600\n}\n"
"ratelimit \"dom2\" {\n key = {sender_domain}\n rate = 2\n period = 3600\n}\n";

/* Two rules: the one over its limit refuses, the other is not charged. */
static void
test_several_rules(void **state)
{
	struct mw_conf *c = load_ok(two_rules);
	struct tmsg a, b;
	char	out[1024];

	(void) state;
	tmsg_init(&a, c, NULL, "carol", "carol@two.example", MW_DIR_OUTBOUND);
	tmsg_init(&b, c, NULL, "dave", "dave@Two.Example", MW_DIR_OUTBOUND);
	assert_int_equal(mail(&a), MW_CONTINUE);
	assert_int_equal(mail(&a), MW_CONTINUE);
	assert_int_equal(mail(&b), MW_TEMPFAIL);	/* the domain's 2 are used */
	assert_non_null(strstr(b.r.text, "\"dom2\""));
	assert_non_null(strstr(b.msg.notes, "ratelimit=user5 ok left=4 (not counted)"));
	assert_non_null(strstr(b.msg.notes, "ratelimit=dom2 over retry=1800.0s"));
	assert_int_equal(ctl(c, ratelimit_ctl_show, out, sizeof(out), "show", "user5", "dave", NULL), 0);
	assert_non_null(strstr(out, "available=5 used=0"));
	assert_int_equal(ctl(c, ratelimit_ctl_show, out, sizeof(out), "show", "user5", "carol", NULL), 0);
	assert_non_null(strstr(out, "available=3 used=2"));
	assert_int_equal(ctl(c, ratelimit_ctl_show, out, sizeof(out), "show", "dom2", "TWO.example", NULL), 0);
	assert_non_null(strstr(out, "available=0 used=2 next_in=1800.0s full_in=3600.0s"));
	conf_release(c);
}

/* reject answers 550 5.7.1; log refuses nothing but notes what it would. */
static void
test_actions(void **state)
{
	struct mw_conf *c = load_ok(
	    "ratelimit \"hard\" {\n key = {sender}\n rate = 1\n period = 600\n action = reject\n}\n"
	    "ratelimit \"shadow\" {\n key = {client_ip}\n rate = 1\n period = 600\n action = log\n}\n");
	struct tmsg t;
	int	i;

	(void) state;
	tmsg_init(&t, c, "198.51.100.7", "", "x@hard.example", MW_DIR_INBOUND);
	assert_int_equal(mail(&t), MW_CONTINUE);
	assert_int_equal(mail(&t), MW_REJECT);
	assert_string_equal(t.r.rcode, "550");
	assert_string_equal(t.r.xcode, "5.7.1");
	assert_string_equal(t.r.text, "Rate limit \"hard\" exceeded");
	for (i = 0; i < 5; i++) {		/* other senders, same client */
		char	from[64];

		snprintf(from, sizeof(from), "s%d@soft.example", i);
		tmsg_init(&t, c, "198.51.100.7", "", from, MW_DIR_INBOUND);
		assert_int_equal(mail(&t), MW_CONTINUE);
	}
	assert_non_null(strstr(t.msg.notes, "ratelimit=shadow over retry=600.0s (log only)"));
	conf_release(c);
}

static const char *per_rcpt_domain =
"ratelimit \"to-dom\" {\n key = {sasl_user, rcpt_domain}\n count = recipients\n"
" rate = 2\n period = 60\n}\n";

/* Recipient rules decide at each RCPT; only the excess is refused. */
static void
test_recipient_rule(void **state)
{
	struct mw_conf *c = load_ok(per_rcpt_domain);
	struct tmsg t;

	(void) state;
	tmsg_init(&t, c, NULL, "erin", "erin@example.com", MW_DIR_OUTBOUND);
	assert_int_equal(mail(&t), MW_CONTINUE);
	assert_string_equal(t.msg.notes, "");		/* no message rule */
	assert_int_equal(rcpt(&t, "a@example.org"), MW_CONTINUE);
	assert_int_equal(rcpt(&t, "b@EXAMPLE.org"), MW_CONTINUE);
	assert_int_equal(rcpt(&t, "c@example.org"), MW_TEMPFAIL);
	assert_string_equal(t.r.xcode, "4.7.1");
	assert_int_equal(rcpt(&t, "d@example.org"), MW_TEMPFAIL);
	assert_int_equal(rcpt(&t, "e@example.net"), MW_CONTINUE);
	assert_int_equal(stage_ratelimit.eom(&t.msg, &t.r), 0);
	/* One "ok" and one "over" note per rule, then the tally. */
	assert_string_equal(t.msg.notes,
	    ", ratelimit=to-dom ok left=1 rcpt=<a@example.org>"
	    ", ratelimit=to-dom over retry=30.0s rcpt=<c@example.org>"
	    ", ratelimit recipients refused=2 log-only-over=0");
	stage_ratelimit.msg_end(&t.msg);
	stage_ratelimit.msg_end(&t.msg);		/* safe twice */
	conf_release(c);
}

/* Direction, exceptions, and unknown key items keep a rule out. */
static void
test_rule_scope(void **state)
{
	struct mw_conf *c = load_ok(
	    "ratelimit \"out\" {\n key = {sender_domain}\n rate = 1\n period = 600\n"
	    " direction = outbound\n except_hosts = {192.0.2.0/24}\n"
	    " except_users = {robot}\n except_domains = {bulk.example}\n}\n"
	    "ratelimit \"users\" {\n key = {sasl_user}\n rate = 1\n period = 600\n}\n");
	struct tmsg t;
	int	i;

	(void) state;
	for (i = 0; i < 3; i++) {
		tmsg_init(&t, c, "203.0.113.5", "", "x@scope.example", MW_DIR_INBOUND);
		assert_int_equal(mail(&t), MW_CONTINUE);	/* inbound; no SASL user */
		assert_string_equal(t.msg.notes, "");
		tmsg_init(&t, c, "192.0.2.44", "", "x@scope.example", MW_DIR_OUTBOUND);
		assert_int_equal(mail(&t), MW_CONTINUE);	/* excepted host */
		tmsg_init(&t, c, "203.0.113.5", "", "x@news.bulk.example", MW_DIR_OUTBOUND);
		assert_int_equal(mail(&t), MW_CONTINUE);	/* excepted subdomain */
	}
	tmsg_init(&t, c, "203.0.113.5", "robot", "x@scope.example", MW_DIR_OUTBOUND);
	assert_int_equal(mail(&t), MW_CONTINUE);	/* "users" counts robot once */
	assert_int_equal(mail(&t), MW_TEMPFAIL);
	assert_non_null(strstr(t.r.text, "\"users\""));
	tmsg_init(&t, c, "203.0.113.5", "", "x@scope.example", MW_DIR_OUTBOUND);
	assert_int_equal(mail(&t), MW_CONTINUE);
	assert_int_equal(mail(&t), MW_TEMPFAIL);
	tmsg_init(&t, c, "203.0.113.5", "", "", MW_DIR_OUTBOUND);
	assert_int_equal(mail(&t), MW_CONTINUE);	/* null sender: no domain */
	conf_release(c);
}

/* client_net counts a /24 or /64 together; mapped IPv4 is IPv4. */
static void
test_client_net(void **state)
{
	struct mw_conf *c = load_ok(
	    "ratelimit \"net\" {\n key = {client_net}\n rate = 2\n period = 600\n}\n");
	struct tmsg t;
	char	out[1024];

	(void) state;
	assert_int_equal(mail(tmsg_init(&t, c, "192.0.2.10", "", "a@x.example", MW_DIR_INBOUND)), MW_CONTINUE);
	assert_int_equal(mail(tmsg_init(&t, c, "::ffff:192.0.2.99", "", "a@x.example", MW_DIR_INBOUND)), MW_CONTINUE);
	assert_int_equal(mail(tmsg_init(&t, c, "192.0.2.200", "", "a@x.example", MW_DIR_INBOUND)), MW_TEMPFAIL);
	assert_int_equal(mail(tmsg_init(&t, c, "192.0.3.1", "", "a@x.example", MW_DIR_INBOUND)), MW_CONTINUE);
	assert_int_equal(mail(tmsg_init(&t, c, "2001:db8:1:2::1", "", "a@x.example", MW_DIR_INBOUND)), MW_CONTINUE);
	assert_int_equal(mail(tmsg_init(&t, c, "2001:db8:1:2:ffff::9", "", "a@x.example", MW_DIR_INBOUND)), MW_CONTINUE);
	assert_int_equal(mail(tmsg_init(&t, c, "2001:db8:1:2::77", "", "a@x.example", MW_DIR_INBOUND)), MW_TEMPFAIL);
	assert_int_equal(ctl(c, ratelimit_ctl_show, out, sizeof(out), "show", "net", "192.0.2.0/24", NULL), 0);
	assert_non_null(strstr(out, "key=192.0.2.0/24 "));
	assert_non_null(strstr(out, "available=0"));
	assert_int_equal(ctl(c, ratelimit_ctl_show, out, sizeof(out), "show", "net", "2001:db8:1:2:abcd::", NULL), 0);
	assert_non_null(strstr(out, "key=2001:db8:1:2::/64 "));
	assert_int_equal(ctl(c, ratelimit_ctl_show, out, sizeof(out), "show", "net", "not-an-ip", NULL), -1);
	assert_string_equal(out, "\"not-an-ip\" is not a valid client_net");
	conf_release(c);
}

/* A new snapshot keeps every key's standing; a new limit reads it. */
static void
test_reload_keeps_state(void **state)
{
	struct mw_conf *c1 = load_ok(
	    "ratelimit \"keep\" {\n key = {sasl_user}\n rate = 2\n period = 600\n}\n");
	struct mw_conf *c2, *c3;
	struct tmsg t;

	(void) state;
	tmsg_init(&t, c1, NULL, "frank", "f@x.example", MW_DIR_OUTBOUND);
	assert_int_equal(mail(&t), MW_CONTINUE);
	assert_int_equal(mail(&t), MW_CONTINUE);
	assert_int_equal(mail(&t), MW_TEMPFAIL);
	c2 = load_ok("max_headers = 500\n"
		     "ratelimit \"keep\" {\n key = {sasl_user}\n rate = 2\n period = 600\n}\n");
	conf_release(c1);
	tmsg_init(&t, c2, NULL, "frank", "f@x.example", MW_DIR_OUTBOUND);
	assert_int_equal(mail(&t), MW_TEMPFAIL);
	c3 = load_ok("ratelimit \"keep\" {\n key = {sasl_user}\n rate = 2\n period = 600\n burst = 3\n}\n");
	tmsg_init(&t, c3, NULL, "frank", "f@x.example", MW_DIR_OUTBOUND);
	assert_int_equal(mail(&t), MW_CONTINUE);	/* the bigger burst allows one more */
	assert_int_equal(mail(&t), MW_TEMPFAIL);
	conf_release(c2);
	conf_release(c3);
}

/* An unreachable Redis: the configured answer, and no retry for a second. */
static void
test_redis_down(void **state)
{
	struct mw_conf *ca = load_ok("ratelimit_store = redis\nredis_server = \"127.0.0.1:1\"\n"
				     "redis_timeout = 200\n");
	struct mw_conf *cb;
	struct tmsg t;

	(void) state;
	conf_release(ca);			/* no rules: no store is needed */
	ca = load_ok("ratelimit_store = redis\nredis_server = \"127.0.0.1:1\"\n"
		     "redis_timeout = 200\n"
		     "ratelimit \"r\" {\n key = {sasl_user}\n rate = 1\n period = 60\n}\n");
	cb = load_ok("ratelimit_store = redis\nredis_server = \"127.0.0.1:1\"\n"
		     "redis_timeout = 200\nredis_down_action = tempfail\n"
		     "ratelimit \"r\" {\n key = {sasl_user}\n rate = 1\n period = 60\n}\n");
	tmsg_init(&t, ca, NULL, "gina", "g@x.example", MW_DIR_OUTBOUND);
	assert_int_equal(mail(&t), MW_CONTINUE);
	assert_non_null(strstr(t.msg.notes, "ratelimit=unavailable (redis 127.0.0.1:1: "));
	assert_non_null(strstr(t.msg.notes, "refused), accepted"));
	assert_null(strstr(t.msg.notes, "retrying"));
	assert_int_equal(mail(&t), MW_CONTINUE);	/* same second: no new attempt */
	assert_non_null(strstr(t.msg.notes, "(retrying every second)), accepted"));
	tmsg_init(&t, cb, NULL, "gina", "g@x.example", MW_DIR_OUTBOUND);
	assert_int_equal(mail(&t), MW_TEMPFAIL);
	assert_string_equal(t.r.rcode, "451");
	assert_string_equal(t.r.xcode, "4.3.0");
	fake_now += SEC;			/* a second later it tries again */
	assert_int_equal(mail(&t), MW_TEMPFAIL);
	assert_null(strstr(t.msg.notes, "retrying"));
	conf_release(ca);
	conf_release(cb);
}

/* The control commands. */
static void
test_ctl(void **state)
{
	struct mw_conf *c = load_ok(two_rules);
	struct mw_conf *none = load_ok("");
	struct tmsg t;
	char	out[1024];

	(void) state;
	tmsg_init(&t, c, NULL, "hank", "hank@ctl.example", MW_DIR_OUTBOUND);
	assert_int_equal(mail(&t), MW_CONTINUE);
	assert_int_equal(mail(&t), MW_CONTINUE);
	assert_int_equal(mail(&t), MW_TEMPFAIL);
	assert_int_equal(ctl(c, ratelimit_ctl_reset, out, sizeof(out), "reset", "dom2", "ctl.example", NULL), 0);
	assert_string_equal(out, "rule=dom2 key=ctl.example reset: it had used 2 of 2\n");
	assert_int_equal(mail(&t), MW_CONTINUE);
	assert_int_equal(ctl(c, ratelimit_ctl_rules, out, sizeof(out), "rules", NULL), 0);
	assert_string_equal(out,
	    "rule=user5 count=messages key=sasl_user limit=5/3600s burst=5 direction=both action=tempfail\n"
	    "rule=dom2 count=messages key=sender_domain limit=2/3600s burst=2 direction=both action=tempfail\n");
	assert_int_equal(ctl(c, ratelimit_ctl_stats, out, sizeof(out), "stats", NULL), 0);
	assert_non_null(strstr(out, "store=memory keys="));
	assert_int_equal(ctl(c, ratelimit_ctl_show, out, sizeof(out), "show", "nope", "x", NULL), -1);
	assert_string_equal(out, "no ratelimit rule \"nope\" in the running configuration");
	assert_int_equal(ctl(c, ratelimit_ctl_show, out, sizeof(out), "show", "user5", "a", "b", NULL), -1);
	assert_string_equal(out, "rule user5 counts by sasl_user: give 1 value");
	assert_int_equal(ctl(none, ratelimit_ctl_show, out, sizeof(out), "show", "user5", "a", NULL), -1);
	assert_string_equal(out, "the running configuration has no ratelimit rules");
	conf_release(c);
	conf_release(none);
}

/* Configuration errors, each with its reason. */
static void
test_config_errors(void **state)
{
	char	many[8192];
	size_t	pos = 0;
	int	i;

	(void) state;
	load_err("ratelimit \"a\" {\n key = {rcpt_domain}\n}\n", "rcpt_domain needs count = recipients");
	load_err("ratelimit \"a\" {\n key = {sender, sender}\n}\n", "\"sender\" is unknown or repeated");
	load_err("ratelimit \"a\" {\n rate = 2000000\n period = 1\n}\n", "more than one per microsecond");
	load_err("ratelimit \"a\" {\n rate = 1\n period = 31536000\n burst = 11\n}\n", "10 years");
	load_err("ratelimit \"a b\" {\n rate = 1\n}\n", "a name is 1 to 64");
	load_err("ratelimit \"a\" {\n key = {}\n}\n", "at least one item");
	load_err("ratelimit_store = redis\nredis_server = \"nope\"\n", "write host:port or unix:/path");
	load_err("control_socket = \"relative.sock\"\n", "absolute path");
	for (i = 0; i < 33; i++)
		pos += (size_t) snprintf(many + pos, sizeof(many) - pos, "ratelimit \"r%d\" { }\n", i);
	load_err(many, "at most 32 ratelimit sections");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_rate),
		cmocka_unit_test(test_refused_costs_nothing),
		cmocka_unit_test(test_several_rules),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_recipient_rule),
		cmocka_unit_test(test_rule_scope),
		cmocka_unit_test(test_client_net),
		cmocka_unit_test(test_reload_keeps_state),
		cmocka_unit_test(test_redis_down),
		cmocka_unit_test(test_ctl),
		cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
