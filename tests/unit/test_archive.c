/*
 * test_archive - archive rules, BCC de-duplication, JSON escaping, the
 * hash chain, and journal entries written, committed and verified
 * (including tampering, concurrent writers and the group commit's
 * batches and failures) in a scratch directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "archive.h"
#include "config.h"
#include "jindex.h"
#include "journal.h"
#include "json.h"
#include "jverify.h"

static struct mw_conf *conf;
static const struct arch_conf *ac;

static const char conf_text[] =
    "archive \"all\" { bcc = {a1@example.test} }\n"
    "archive \"in-org\" {\n"
    "  direction = inbound\n"
    "  recipient_domains = {example.org}\n"
    "  bcc = {A1@Example.TEST, a2@example.test}\n"
    "}\n"
    "archive \"out-carol\" { direction = outbound\n sasl_users = {carol}\n bcc = {a3@example.test} }\n"
    "archive \"from-net\" { sender_domains = {example.net, example.com}\n bcc = {a4@example.test} }\n";

static int
setup(void **state)
{
	char	path[] = "/tmp/mwarchXXXXXX";
	struct conf_errors e;
	int	fd = mkstemp(path);

	(void) state;
	if (fd < 0 || write(fd, conf_text, strlen(conf_text)) < 0)
		return -1;
	close(fd);
	conf = conf_load(path, &e);
	conf_errors_print(&e, stderr);
	unlink(path);
	conf_errors_free(&e);
	if (conf == NULL)
		return -1;
	ac = conf->stage[MW_STAGE_ARCHIVE];
	return ac && ac->nrule == 4 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void) state;
	conf_release(conf);
	return 0;
}

/* msg_init - a message context on the stack, with recipients */
static void
msg_init(struct mw_msg *m, enum mw_dir dir, const char *from, const char *user,
	 const char *const *rcpts)
{
	memset(m, 0, sizeof(*m));
	m->rcpt_tail = &m->rcpts;
	m->dir = dir;
	snprintf(m->mailfrom, sizeof(m->mailfrom), "%s", from);
	snprintf(m->auth_user, sizeof(m->auth_user), "%s", user);
	for (; rcpts && *rcpts; rcpts++)
		assert_int_equal(msg_add_rcpt(m, *rcpts), 0);
}

/* msg_clear - free the recipients of msg_init */
static void
msg_clear(struct mw_msg *m)
{
	struct mw_rcpt *r, *n;

	for (r = m->rcpts; r; r = n) {
		n = r->next;
		free(r->addr);
		free(r);
	}
	free(m->authres);
}

static void
test_rule_match(void **state)
{
	static const char *org[] = {"x@example.com", "Bob@EXAMPLE.ORG", NULL};
	static const char *com[] = {"x@example.com", NULL};
	static const char *sub[] = {"x@sub.example.org", NULL};
	static const struct {
		enum mw_dir dir;
		const char *from, *user;
		const char *const *rcpts;
		const char *want;	/* per rule: all in-org out-carol from-net */
	}	t[] = {
		{MW_DIR_INBOUND, "a@example.net", "", org, "1101"},
		{MW_DIR_INBOUND, "a@example.net", "", com, "1001"},
		{MW_DIR_INBOUND, "a@Example.COM", "", sub, "1001"},	/* no subdomains */
		{MW_DIR_INBOUND, "a@example.info", "", com, "1000"},
		{MW_DIR_INBOUND, "", "", org, "1100"},			/* null sender */
		{MW_DIR_OUTBOUND, "c@example.info", "carol", org, "1010"},
		{MW_DIR_OUTBOUND, "c@example.info", "Carol", org, "1000"},	/* exact user */
		{MW_DIR_OUTBOUND, "c@example.net", "dave", com, "1001"},
		{MW_DIR_INBOUND, "noatsign", "carol", org, "1100"},
	};
	size_t	i;
	unsigned k;

	(void) state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct mw_msg m;
		char	got[8];

		msg_init(&m, t[i].dir, t[i].from, t[i].user, t[i].rcpts);
		for (k = 0; k < ac->nrule; k++)
			got[k] = arch_rule_match(&ac->rule[k], &m) ? '1' : '0';
		got[k] = 0;
		if (strcmp(got, t[i].want) != 0)
			fail_msg("case %zu (%s): matched %s, want %s", i, t[i].from, got, t[i].want);
		msg_clear(&m);
	}
}

static void
test_bcc_dedupe(void **state)
{
	static const char *rcpts[] = {"A2@EXAMPLE.test", "z@example.org", NULL};
	static const unsigned char all[4] = {1, 1, 1, 1}, two[4] = {1, 1, 0, 0};
	const char *out[8];
	struct mw_msg m;
	unsigned n;

	(void) state;
	msg_init(&m, MW_DIR_INBOUND, "a@example.net", "", rcpts);
	assert_int_equal(ac->nbcc, 5);
	/* a1 twice (case differs), a2 already a recipient. */
	n = arch_bcc_list(ac, all, &m, out, 8);
	assert_int_equal(n, 3);
	assert_string_equal(out[0], "a1@example.test");
	assert_string_equal(out[1], "a3@example.test");
	assert_string_equal(out[2], "a4@example.test");
	n = arch_bcc_list(ac, two, &m, out, 8);
	assert_int_equal(n, 1);
	assert_string_equal(out[0], "a1@example.test");
	n = arch_bcc_list(ac, all, &m, out, 2);	/* never past max */
	assert_int_equal(n, 2);
	msg_clear(&m);
}

static void
test_json_escape(void **state)
{
	static const struct {
		const char *in, *want;
	}	t[] = {
		{"plain@example.org", "\"plain@example.org\""},
		{"q\"b\\s/", "\"q\\\"b\\\\s/\""},
		{"\t\n\r\b\f\x01\x1f\x7f", "\"\\t\\n\\r\\b\\f\\u0001\\u001f\\u007f\""},
		{"j\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x93\xa7", "\"j\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x93\xa7\""},
		{"\xff\xfe", "\"\\udcff\\udcfe\""},
		{"\xc3", "\"\\udcc3\""},				/* truncated */
		{"\xc0\xaf", "\"\\udcc0\\udcaf\""},			/* overlong '/' */
		{"\xe0\x80\xaf", "\"\\udce0\\udc80\\udcaf\""},		/* overlong */
		{"\xed\xa0\x80", "\"\\udced\\udca0\\udc80\""},		/* surrogate */
		{"\xf4\x90\x80\x80", "\"\\udcf4\\udc90\\udc80\\udc80\""},	/* > U+10FFFF */
		{"a\xc3(b", "\"a\\udcc3(b\""},
		{"", "\"\""},
	};
	size_t	i;

	(void) state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct json_buf b;

		json_init(&b);
		json_cstring(&b, t[i].in);
		assert_false(b.oom);
		if (strcmp(b.p, t[i].want) != 0)
			fail_msg("case %zu: got %s, want %s", i, b.p, t[i].want);
		json_free(&b);
	}
}

/* rec_fill - a record for the chain vectors (hashes of "a".."d") */
static void
rec_fill(struct jindex_rec *r, unsigned long long seq, const char *t,
	 const char *e, const char *eml, const char *json)
{
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	snprintf(r->time, sizeof(r->time), "%s", t);
	snprintf(r->entry, sizeof(r->entry), "%s", e);
	snprintf(r->eml, sizeof(r->eml), "%s", eml);
	snprintf(r->json, sizeof(r->json), "%s", json);
}

#define H_A "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define H_B "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
#define H_C "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"
#define H_D "18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"

/* Expected values computed independently with Python's hashlib. */
static void
test_chain_vectors(void **state)
{
	struct jindex_rec r1, r2, p;
	char	line1[JINDEX_MAX_LINE + 1], line2[JINDEX_MAX_LINE + 1], err[128];
	int	n1, n2;

	(void) state;
	rec_fill(&r1, 1, "2026-01-05T10:11:12Z", "2026-01-05/20260105T101112Z-Q1-0011223344556677", H_A, H_B);
	assert_int_equal(jindex_chain("", 0, &r1, r1.chain), 0);
	assert_string_equal(r1.chain, "b592c5156d65317dce78e9885951e5349c58fe0adb59f7183807cea31da04d5f");
	n1 = jindex_format(&r1, line1, sizeof(line1));
	assert_true(n1 > 0 && line1[n1 - 1] == '\n');
	rec_fill(&r2, 2, "2026-01-05T10:11:13Z", "2026-01-05/20260105T101113Z-Q2-8899aabbccddeeff", H_C, H_D);
	assert_int_equal(jindex_chain(line1, (size_t) n1, &r2, r2.chain), 0);
	assert_string_equal(r2.chain, "0008d9e7fab24904b985aaab6419bfa21ef08d7a71061219ca045bf86159e5f4");
	n2 = jindex_format(&r2, line2, sizeof(line2));
	assert_int_equal(jindex_parse(line2, (size_t) n2, &p, err, sizeof(err)), 0);
	assert_int_equal(p.seq, 2);
	assert_string_equal(p.entry, r2.entry);
	assert_string_equal(p.chain, r2.chain);
	/* One byte of the previous line changes the chain. */
	line1[0] = '7';
	assert_int_equal(jindex_chain(line1, (size_t) n1, &r2, p.chain), 0);
	assert_string_not_equal(p.chain, r2.chain);
}

static void
test_index_parse_rejects(void **state)
{
	static const char *bad[] = {
		"",
		"1 2026-01-05T10:11:12Z 2026-01-05/x " H_A " " H_B,		/* no chain */
		"0 2026-01-05T10:11:12Z 2026-01-05/x " H_A " " H_B " " H_C,	/* seq 0 */
		"-1 2026-01-05T10:11:12Z 2026-01-05/x " H_A " " H_B " " H_C,
		"1 2026-01-05 2026-01-05/x " H_A " " H_B " " H_C,
		"1 2026-01-05T10:11:12Z ../etc/passwd " H_A " " H_B " " H_C,
		"1 2026-01-05T10:11:12Z 2026-01-05/../x " H_A " " H_B " " H_C,
		"1 2026-01-05T10:11:12Z 2026-01-05/.x " H_A " " H_B " " H_C,
		"1 2026-01-05T10:11:12Z 2026-01-05/x " H_A " " H_B " " H_C " extra",
		"1 2026-01-05T10:11:12Z 2026-01-05/x " H_A " " H_B "  " H_C,
		"1 2026-01-05T10:11:12Z 2026-01-05/x CA978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb " H_B " " H_C,
		"99999999999999999999999 2026-01-05T10:11:12Z 2026-01-05/x " H_A " " H_B " " H_C,
		/* Second spellings of a valid line (the last line has no successor to chain them). */
		"1 2026-01-05T10:11:12Z 2026-01-05/x " H_A " " H_B " " H_C " ",
		"1 2026-01-05T10:11:12Z 2026-01-05/x " H_A " " H_B " " H_C " \n",
		"01 2026-01-05T10:11:12Z 2026-01-05/x " H_A " " H_B " " H_C,
	};
	struct jindex_rec r;
	char	err[128];
	size_t	i;

	(void) state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (jindex_parse(bad[i], strlen(bad[i]), &r, err, sizeof(err)) == 0)
			fail_msg("case %zu parsed: %s", i, bad[i]);
	assert_int_equal(jindex_parse("1 2026-01-05T10:11:12Z 2026-01-05/x " H_A " " H_B " " H_C "\n",
				      strlen("1 2026-01-05T10:11:12Z 2026-01-05/x " H_A " " H_B " " H_C "\n"),
				      &r, err, sizeof(err)), 0);
}

/* --- journal entries in a scratch directory --- */

struct reports {
	unsigned n;
	char	text[16][600];
};

static void
collect(void *arg, const char *entry, const char *what)
{
	struct reports *r = arg;

	if (r->n < 16)
		snprintf(r->text[r->n], sizeof(r->text[0]), "%s: %s", entry, what);
	r->n++;
}

/* has - a report starting with entry and containing what */
static int
has(const struct reports *r, const char *entry, const char *what)
{
	unsigned i;

	for (i = 0; i < r->n && i < 16; i++)
		if (strncmp(r->text[i], entry, strlen(entry)) == 0 && strstr(r->text[i], what))
			return 1;
	return 0;
}

/* verify - run jverify_dir; the number of problems */
static unsigned long
verify(const char *dir, struct reports *rep, struct jverify_result *res)
{
	char	err[256];

	memset(rep, 0, sizeof(*rep));
	assert_int_equal(jverify_dir(dir, collect, rep, res, err, sizeof(err)), 0);
	return res->problems;
}

/* put_entry_rc - one committed entry, no assertions (threads); 0 or -1 */
static int
put_entry_rc(struct jwriter *w, const char *qid, const char *body, char *entry,
	     size_t len, char *err, size_t errlen)
{
	struct journal *j;
	struct jindex_rec r;
	char	hex[65];
	uint64_t size;
	int	rc = -1;

	if (journal_open(w, qid, time(NULL), &j, err, errlen) == 0
	    && journal_write(j, "Subject: t\r\n\r\n", 14, err, errlen) == 0
	    && journal_write(j, body, strlen(body), err, errlen) == 0
	    && journal_finish(j, hex, &size, err, errlen) == 0
	    && journal_commit(j, "{}\n", 3, &r, err, errlen) == 0) {
		rc = 0;
		if (size != 14 + strlen(body) || strcmp(r.eml, hex) != 0) {
			snprintf(err, errlen, "size or hash of %s wrong", journal_entry(j));
			rc = -1;
		}
		if (entry)
			snprintf(entry, len, "%s", journal_entry(j));
	}
	journal_free(j);
	return rc;
}

/* put_entry - one committed entry; its name into entry */
static void
put_entry(struct jwriter *w, const char *qid, const char *body, char *entry, size_t len)
{
	char	err[256];

	if (put_entry_rc(w, qid, body, entry, len, err, sizeof(err)) < 0)
		fail_msg("entry %s: %s", qid, err);
}

/* scratch - a fresh journal directory */
static void
scratch(char *dir)
{
	strcpy(dir, "/tmp/mwjournalXXXXXX");
	assert_non_null(mkdtemp(dir));
}

/* run - a shell command on the scratch directory must succeed */
static void
run(const char *fmt, ...)
{
	char	cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static void
test_journal_tamper(void **state)
{
	char	dir[64], e[3][JINDEX_MAX_ENTRY];
	struct reports rep;
	struct jverify_result res;
	struct jwriter *w;
	int	i;

	(void) state;
	scratch(dir);
	assert_non_null(w = jwriter_new(dir));
	assert_int_equal(verify(dir, &rep, &res), 0);	/* empty journal */
	for (i = 0; i < 3; i++)
		put_entry(w, i == 1 ? "Q/2" : "Q1", i ? "second\r\n" : "first\r\n", e[i], sizeof(e[i]));
	jwriter_free(w);
	assert_non_null(strstr(e[1], "-Q2-"));		/* queue ID reduced to alnum */
	assert_int_equal(verify(dir, &rep, &res), 0);
	assert_int_equal(res.entries, 3);
	assert_int_equal(res.last_seq, 3);
	assert_int_equal(res.stale_tmp, 0);		/* nothing left in tmp/ */
	run("cp -a %s %s.orig", dir, dir);

	/* One byte of one message. */
	run("printf X | dd of=%s/%s.eml bs=1 seek=3 conv=notrunc status=none", dir, e[1]);
	assert_int_equal(verify(dir, &rep, &res), 1);
	assert_true(has(&rep, e[1], "changed"));
	run("cp -a %s.orig/. %s/", dir, dir);
	assert_int_equal(verify(dir, &rep, &res), 0);

	/* An entry removed. */
	run("rm %s/%s.eml %s/%s.json", dir, e[2], dir, e[2]);
	assert_int_equal(verify(dir, &rep, &res), 2);
	assert_true(has(&rep, e[2], "removed"));
	run("cp -a %s.orig/. %s/", dir, dir);

	/* Two index lines swapped. */
	run("cd %s && { sed -n 2p index; sed -n 1p index; sed -n 3p index; } >i && mv i index", dir);
	assert_int_equal(verify(dir, &rep, &res), 4);
	assert_true(has(&rep, e[1], "hash chain broken at index line 1"));
	assert_true(has(&rep, e[2], "hash chain broken at index line 3"));
	assert_true(has(&rep, e[0], "reordered: index line 2 has sequence 1, after sequence 2"));
	assert_true(has(&rep, e[0], "hash chain broken at index line 2"));
	run("cp -a %s.orig/. %s/", dir, dir);

	/* An index line removed: the next line says so, the files are unindexed. */
	run("cd %s && sed -i 2d index", dir);
	assert_int_equal(verify(dir, &rep, &res), 4);
	assert_true(has(&rep, e[2], "removed: the index line with sequence 2, before index line 2, is missing"));
	assert_true(has(&rep, e[2], "hash chain broken at index line 2"));
	assert_true(has(&rep, e[1], "added: " ) && has(&rep, e[1], ".eml is not in the index"));
	assert_true(has(&rep, e[1], ".json is not in the index"));
	run("cp -a %s.orig/. %s/", dir, dir);

	/* A line copied: the copy is reported. */
	run("cd %s && sed -n 1p index >>index", dir);
	assert_true(verify(dir, &rep, &res) >= 1);
	assert_true(has(&rep, e[0], "added: index line 4 repeats sequence 1"));
	run("rm -rf %s %s.orig", dir, dir);
}

static void
test_journal_torn_index(void **state)
{
	char	dir[64], err[256], hex[65], path[128];
	struct journal *j;
	struct jindex_rec r;
	struct reports rep;
	struct jverify_result res;
	struct jwriter *w;
	uint64_t size;

	(void) state;
	scratch(dir);
	assert_non_null(w = jwriter_new(dir));
	put_entry(w, "Q1", "x\r\n", NULL, 0);
	run("printf '2 2026-01' >>%s/index", dir);
	assert_int_equal(journal_open(w, "Q2", time(NULL), &j, err, sizeof(err)), 0);
	assert_int_equal(journal_write(j, "a", 1, err, sizeof(err)), 0);
	assert_int_equal(journal_finish(j, hex, &size, err, sizeof(err)), 0);
	assert_int_equal(journal_commit(j, "{}", 2, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "incomplete line"));
	journal_free(j);
	/* Nothing of the failed entry is left: neither published nor temporary. */
	run("test -z \"$(find %s -name '*-Q2-*')\"", dir);
	assert_int_equal(verify(dir, &rep, &res), 1);
	assert_true(has(&rep, "index line 2", "incomplete line"));
	/* An unfinished entry is removed by journal_free. */
	assert_int_equal(journal_open(w, "Q3", time(NULL), &j, err, sizeof(err)), 0);
	assert_int_equal(journal_write(j, "b", 1, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/tmp/%s.eml", dir, journal_base(j));
	assert_int_equal(access(path, F_OK), 0);
	journal_free(j);
	assert_int_equal(access(path, F_OK), -1);
	run("test -z \"$(ls -A %s/tmp)\"", dir);
	jwriter_free(w);
	run("rm -rf %s", dir);
}

/* tail_of - jindex_tail on a file holding data[0..n); its return */
static int
tail_of(const char *data, size_t n, char *line, size_t *linelen, char *err, size_t len)
{
	char	path[] = "/tmp/mwindexXXXXXX";
	off_t	size;
	int	fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t) n);
	rc = jindex_tail(fd, line, linelen, &size, err, len);
	assert_int_equal(size, (off_t) n);
	close(fd);
	unlink(path);
	return rc;
}

/*
 * The last line of an index longer than one line's bound: exactly it,
 * with no byte written past the JINDEX_MAX_LINE + 1 buffer (the index
 * passes 512 bytes after two entries); a last line over the bound and a
 * NUL byte in an earlier line are defined outcomes.
 */
static void
test_index_tail(void **state)
{
	char	data[4 * JINDEX_MAX_LINE], line[JINDEX_MAX_LINE + 1], err[256];
	size_t	n, linelen;

	(void) state;
	/* Three lines of 300 bytes: the tail read starts inside the second. */
	memset(data, 'a', 900);
	data[299] = data[599] = data[899] = '\n';
	data[600] = 'Z';
	assert_int_equal(tail_of(data, 900, line, &linelen, err, sizeof(err)), 0);
	assert_int_equal(linelen, 300);
	assert_int_equal(line[0], 'Z');
	assert_int_equal(line[299], '\n');
	assert_int_equal(line[300], 0);
	/* One line of exactly JINDEX_MAX_LINE bytes is the whole file. */
	memset(data, 'b', JINDEX_MAX_LINE);
	data[JINDEX_MAX_LINE - 1] = '\n';
	assert_int_equal(tail_of(data, JINDEX_MAX_LINE, line, &linelen, err, sizeof(err)), 0);
	assert_int_equal(linelen, JINDEX_MAX_LINE);
	/* One byte more, in the file's only line or its last one: overlong. */
	for (n = JINDEX_MAX_LINE + 1; n <= JINDEX_MAX_LINE + 2; n++) {
		memset(data, 'c', n);
		data[0] = n == JINDEX_MAX_LINE + 2 ? '\n' : 'c';
		data[n - 1] = '\n';
		assert_int_equal(tail_of(data, n, line, &linelen, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "overlong line"));
		assert_int_equal(linelen, 0);
	}
	/* A NUL byte in the line before does not hide the last newline. */
	memcpy(data, "x\0x\nlast\n", 9);
	assert_int_equal(tail_of(data, 9, line, &linelen, err, sizeof(err)), 0);
	assert_int_equal(linelen, 5);
	assert_string_equal(line, "last\n");
	/* No newline at the end: incomplete. */
	assert_int_equal(tail_of("1 2\n3", 5, line, &linelen, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "incomplete line"));
}

/*
 * Concurrent writers: WRITERS writers on one directory (as configuration
 * snapshots or processes have), THREADS_PER threads each. Within a writer
 * the group commit orders the batches; between writers only the index
 * flock does. Breaking either gives repeated sequence numbers or a broken
 * chain, which verify reports.
 */
#define WRITERS		3
#define THREADS_PER	3
#define PER_THREAD	25

static int writer_failures;

static void *
writer(void *arg)
{
	char	qid[32], err[256];
	int	i;

	for (i = 0; i < PER_THREAD; i++) {
		snprintf(qid, sizeof(qid), "T%lx", (unsigned long) pthread_self());
		if (put_entry_rc(arg, qid, "concurrent\r\n", NULL, 0, err, sizeof(err)) < 0) {
			fprintf(stderr, "# writer: %s\n", err);
			__atomic_add_fetch(&writer_failures, 1, __ATOMIC_SEQ_CST);
		}
	}
	return NULL;
}

static void
test_journal_concurrent(void **state)
{
	pthread_t t[WRITERS * THREADS_PER];
	struct jwriter *w[WRITERS];
	struct jwriter_stats st;
	char	dir[64];
	struct reports rep;
	struct jverify_result res;
	unsigned long long entries = 0;
	int	i;

	(void) state;
	scratch(dir);
	for (i = 0; i < WRITERS; i++)
		assert_non_null(w[i] = jwriter_new(dir));
	for (i = 0; i < WRITERS * THREADS_PER; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer, w[i % WRITERS]), 0);
	for (i = 0; i < WRITERS * THREADS_PER; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(writer_failures, 0);
	for (i = 0; i < WRITERS; i++) {
		jwriter_stats(w[i], &st);
		assert_int_equal(st.pending, 0);
		assert_true(st.batches >= 1 && st.batches <= st.entries);
		entries += st.entries;
		jwriter_free(w[i]);
	}
	assert_int_equal(entries, WRITERS * THREADS_PER * PER_THREAD);
	if (verify(dir, &rep, &res) != 0)
		fail_msg("%u problems, first: %s", rep.n, rep.text[0]);
	assert_int_equal(res.entries, WRITERS * THREADS_PER * PER_THREAD);
	assert_int_equal(res.last_seq, WRITERS * THREADS_PER * PER_THREAD);
	run("rm -rf %s", dir);
}

/* --- group commit: a batch held at the index lock, then let go --- */

#define GROUP	8

struct gc_thread {
	struct jwriter *w;
	time_t	now;			/* when the message started */
	pthread_t tid;
	char	base[96];		/* set before the entry is committed */
	char	entry[JINDEX_MAX_ENTRY];
	char	err[256];
	struct jindex_rec r;
	int	rc;
};

/* gc_run - one entry, committed; its outcome in the struct */
static void *
gc_run(void *arg)
{
	struct gc_thread *g = arg;
	struct journal *j;
	char	hex[65];
	uint64_t size;

	g->rc = -1;
	if (journal_open(g->w, "QG", g->now, &j, g->err, sizeof(g->err)) == 0
	    && journal_write(j, "Subject: g\r\n\r\nbody\r\n", 20, g->err, sizeof(g->err)) == 0
	    && journal_finish(j, hex, &size, g->err, sizeof(g->err)) == 0) {
		snprintf(g->entry, sizeof(g->entry), "%s", journal_entry(j));
		snprintf(g->base, sizeof(g->base), "%s", journal_base(j));
		g->rc = journal_commit(j, "{\"g\": 1}\n", 9, &g->r, g->err, sizeof(g->err));
	}
	journal_free(j);
	return NULL;
}

/* gc_wait - until the writer has a batch in progress and n entries queued */
static void
gc_wait(struct jwriter *w, unsigned n)
{
	struct jwriter_stats st;
	int	i;

	for (i = 0; i < 30000; i++) {	/* a bound against hanging, not a timing */
		jwriter_stats(w, &st);
		if (st.busy && st.pending == n)
			return;
		usleep(1000);
	}
	fail_msg("the writer never had %u entries queued behind a batch", n);
}

/* gc_lock - hold the index lock as another writer would; the descriptor */
static int
gc_lock(const char *dir)
{
	char	path[128];
	int	fd;

	snprintf(path, sizeof(path), "%s/index", dir);
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0640)) >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	return fd;
}

/* gc_start - thread 0 leads and blocks on the lock; the others queue behind it */
static void
gc_start(struct jwriter *w, struct gc_thread *g)
{
	int	i;

	memset(g, 0, GROUP * sizeof(*g));
	for (i = 0; i < GROUP; i++) {	/* odd ones started the day before */
		g[i].w = w;
		g[i].now = time(NULL) - (i % 2) * 86400;
	}
	assert_int_equal(pthread_create(&g[0].tid, NULL, gc_run, &g[0]), 0);
	gc_wait(w, 0);
	for (i = 1; i < GROUP; i++)
		assert_int_equal(pthread_create(&g[i].tid, NULL, gc_run, &g[i]), 0);
	gc_wait(w, GROUP - 1);
}

/* gc_join - every thread of the group has its answer */
static void
gc_join(struct gc_thread *g)
{
	int	i;

	for (i = 0; i < GROUP; i++)
		pthread_join(g[i].tid, NULL);
}

/*
 * Entries committed while another batch holds the index go into one
 * batch; one that cannot be moved into place fails alone (the rest of its batch is
 * indexed, in order, chained); a failed index append fails the whole
 * batch and leaves none of its files. Half the entries belong to the day
 * before (messages that straddle midnight): one batch, two day
 * directories. Deterministic: the test holds the index lock until every
 * thread is queued.
 */
static void
test_group_commit(void **state)
{
	struct gc_thread g[GROUP];
	struct jwriter_stats st;
	struct jwriter *w;
	struct reports rep;
	struct jverify_result res;
	char	dir[64];
	int	i, fd;

	(void) state;
	scratch(dir);
	assert_non_null(w = jwriter_new(dir));

	/* 1. One batch of GROUP - 1; entry 3's name is taken meanwhile. */
	fd = gc_lock(dir);
	gc_start(w, g);
	run("mkdir -p %s/%.10s && echo taken >%s/%s.eml", dir, g[3].entry, dir, g[3].entry);
	close(fd);
	gc_join(g);
	jwriter_stats(w, &st);
	assert_int_equal(st.batches, 2);
	assert_int_equal(st.largest, GROUP - 1);
	for (i = 0; i < GROUP; i++) {
		if (i == 3) {
			assert_int_equal(g[i].rc, -1);
			if (!strstr(g[i].err, "File exists"))
				fail_msg("entry 3: %s", g[i].err);
			continue;
		}
		if (g[i].rc != 0)
			fail_msg("entry %d: %s", i, g[i].err);
		assert_string_equal(g[i].r.entry, g[i].entry);
	}
	assert_int_equal(g[0].r.seq, 1);	/* the leader's batch came first */
	for (i = 1; i < GROUP; i++)		/* then 6 entries, numbered without gaps */
		assert_true(i == 3 || (g[i].r.seq >= 2 && g[i].r.seq <= GROUP - 1));
	run("test ! -e %s/%s.json", dir, g[3].entry);	/* its record was not moved */
	run("grep -q taken %s/%s.eml", dir, g[3].entry);	/* nor anything replaced */
	assert_int_equal(verify(dir, &rep, &res), 1);
	assert_true(has(&rep, g[3].entry, "added"));
	run("rm %s/%s.eml", dir, g[3].entry);
	assert_int_equal(verify(dir, &rep, &res), 0);
	assert_int_equal(res.entries, GROUP - 1);
	assert_int_equal(res.last_seq, GROUP - 1);

	/* 2. The index gets a torn line while the batch waits: all of it fails. */
	fd = gc_lock(dir);
	gc_start(w, g);
	assert_int_equal(write(fd, "99 2026", 7), 7);
	close(fd);
	gc_join(g);
	for (i = 0; i < GROUP; i++) {
		assert_int_equal(g[i].rc, -1);
		if (!strstr(g[i].err, "incomplete line"))
			fail_msg("entry %d: %s", i, g[i].err);
		run("test -z \"$(find %s -name '%s*')\"", dir, g[i].base);
	}
	run("test -z \"$(ls -A %s/tmp)\"", dir);	/* no temporary file left */
	run("truncate -s -7 %s/index", dir);
	assert_int_equal(verify(dir, &rep, &res), 0);
	assert_int_equal(res.entries, GROUP - 1);
	jwriter_free(w);
	run("rm -rf %s", dir);
}

static void
test_record_json(void **state)
{
	static const char *rcpts[] = {"b@example.org", "c\"q@example.org", NULL};
	static const unsigned char matched[4] = {1, 0, 0, 1};
	const char *bcc[] = {"a1@example.test"};
	struct arch_record rec = {0};
	struct mw_conn c;
	struct mw_msg m;
	struct json_buf b;

	(void) state;
	memset(&c, 0, sizeof(c));
	strcpy(c.addr, "192.0.2.1");
	strcpy(c.hostname, "client.example");
	msg_init(&m, MW_DIR_INBOUND, "a@example.net", "", rcpts);
	m.conn = &c;
	m.dir_why = "external";
	strcpy(m.qid, "QJSON");
	m.authres = strdup("mx; spf=pass smtp.mailfrom=example.net");
	rec.entry = "2026-01-05/B";
	rec.file = "B.eml";
	rec.sha256 = H_A;
	rec.size = 42;
	rec.time = 1767607872;		/* 2026-01-05T10:11:12Z */
	rec.bcc = bcc;
	rec.nbcc = 1;
	rec.matched = matched;
	json_init(&b);
	arch_record_json(&b, ac, &m, &rec);
	assert_false(b.oom);
	assert_non_null(strstr(b.p, "\"time\": \"2026-01-05T10:11:12Z\""));
	assert_non_null(strstr(b.p, "\"rcpt_to\": [\"b@example.org\", \"c\\\"q@example.org\"]"));
	assert_non_null(strstr(b.p, "\"archive_rcpt_to\": [\"a1@example.test\"]"));
	assert_non_null(strstr(b.p, "\"rules\": [\"all\", \"from-net\"]"));
	assert_non_null(strstr(b.p, "\"helo\": null"));
	assert_non_null(strstr(b.p, "\"sasl_user\": null"));
	assert_non_null(strstr(b.p, "\"authentication_results\": \"mx; spf=pass smtp.mailfrom=example.net\""));
	assert_non_null(strstr(b.p, "\"message_size\": 42"));
	json_free(&b);
	msg_clear(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_match),
		cmocka_unit_test(test_bcc_dedupe),
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test(test_chain_vectors),
		cmocka_unit_test(test_index_parse_rejects),
		cmocka_unit_test(test_journal_tamper),
		cmocka_unit_test(test_journal_torn_index),
		cmocka_unit_test(test_index_tail),
		cmocka_unit_test(test_journal_concurrent),
		cmocka_unit_test(test_group_commit),
		cmocka_unit_test(test_record_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
