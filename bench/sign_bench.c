/*
 * NAME
 *	sign_bench - messages the signing stage signs per second of CPU
 * SYNOPSIS
 *	bench/sign_bench [-n messages] [-t threads] [-c] CONFIG
 * DESCRIPTION
 *	Loads CONFIG (its sign sections, as mailwarden would) and runs one
 *	outbound message (10 headers, 2 KB body in one chunk) through the
 *	pipeline's end-of-headers, body and end-of-message hooks again and
 *	again, in one thread, exactly the code path of a milter thread minus
 *	the socket. Prints messages per CPU second (CLOCK_PROCESS_CPUTIME_ID,
 *	so other load on the machine does not count) and per signature.
 *	-t runs that many threads at once, each -n messages (the key cache
 *	and libopendkim shared, as between milter threads); the rate is then
 *	per CPU second of all of them.
 *	-c drops the parsed keys from keycache first: libopendkim then parses
 *	the PEM key for every signature, as it does without mailwarden's
 *	interposition. Compare with "openssl speed rsa2048 ed25519".
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "keycache.h"
#include "mailwarden.h"
#include "sign.h"

static const char *hdrs[][2] = {
	{"Received", " from app.example.test by mx.example.test; Mon, 23 Nov 2026 07:00:00 +0000"},
	{"From", " Alice Example <alice@example.test>"},
	{"To", " Bob <bob@example.org>"},
	{"Cc", " carol@example.org"},
	{"Subject", " quarterly report"},
	{"Date", " Mon, 23 Nov 2026 07:00:00 +0000"},
	{"Message-ID", " <20261123070000.12345@example.test>"},
	{"MIME-Version", " 1.0"},
	{"Content-Type", " text/plain; charset=utf-8"},
	{"Content-Transfer-Encoding", " 8bit"},
};

static int nsig;
static long nmsg;
static struct mw_conf *conf;
static unsigned char msgbody[2048];

/* count_ins - the insheader action: count signatures */
static int
count_ins(void *arg, int idx, const char *name, const char *value)
{
	(void) arg;
	(void) idx;
	(void) name;
	(void) value;
	__atomic_add_fetch(&nsig, 1, __ATOMIC_RELAXED);
	return 0;
}

/* one - one message through the stage; -1 when it was not signed */
static int
one(struct mw_conn *conn, const unsigned char *body, size_t len)
{
	struct mw_actions act = {count_ins, NULL, NULL, NULL, NULL};
	struct mw_reply r;
	struct mw_msg *m = msg_new(conn);
	unsigned i;

	if (m == NULL)
		return -1;
	m->dir = MW_DIR_OUTBOUND;
	m->dir_why = "bench";
	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
		msg_add_header(m, hdrs[i][0], hdrs[i][1]);
	if (pipeline_eoh(m, &r) < 0 || pipeline_body(m, body, len, &r) < 0)
		return -1;
	m->act = &act;
	i = pipeline_eom(m, &r) < 0 || strstr(m->notes, "dkim-sign=ok") == NULL;
	msg_free(m);
	return i ? -1 : 0;
}

/* cpu - CPU seconds of this process */
static double
cpu(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

/* worker - one thread's messages; NULL, or (void *) 1 when one was not signed */
static void *
worker(void *arg)
{
	struct mw_conn conn = {0};
	long	i;

	(void) arg;
	conn.conf = conf;
	conn.leadspc = 1;
	for (i = 0; i < nmsg; i++)
		if (one(&conn, msgbody, sizeof(msgbody)) < 0)
			return (void *) 1;
	return NULL;
}

/* drop_cache - keycache forgets every key of the snapshot */
static void
drop_cache(struct mw_conf *c)
{
	struct sign_conf *sc = c->stage[MW_STAGE_SIGN];
	unsigned i;

	for (i = 0; sc && i < signtab_nkeys(sc->tab); i++) {
		keycache_remove(signtab_key(sc->tab, i)->cache);
		signtab_key(sc->tab, i)->cache = NULL;
	}
}

int
main(int argc, char **argv)
{
	struct conf_errors e;
	pthread_t tid[64];
	unsigned long hits;
	long	i, nthr = 1;
	int	ch, nocache = 0, bad = 0;
	void   *res;
	double	t0, t;

	nmsg = 2000;
	while ((ch = getopt(argc, argv, "n:t:c")) != -1)
		if (ch == 'n')
			nmsg = atol(optarg);
		else if (ch == 't')
			nthr = atol(optarg);
		else if (ch == 'c')
			nocache = 1;
	if (optind != argc - 1 || nmsg < 1 || nthr < 1 || nthr > 64) {
		fprintf(stderr, "usage: sign_bench [-n messages] [-t threads] [-c] config\n");
		return 2;
	}
	if ((conf = conf_load(argv[optind], &e)) == NULL) {
		conf_errors_print(&e, stderr);
		return 1;
	}
	conf_install(conf_ref(conf));
	if (nocache)
		drop_cache(conf);
	for (i = 0; i < (long) sizeof(msgbody); i++)
		msgbody[i] = (i % 64 == 63) ? '\n' : (unsigned char) ('a' + i % 26);
	hits = keycache_hits();
	t0 = cpu();
	for (i = 0; i < nthr; i++)
		pthread_create(&tid[i], NULL, worker, NULL);
	for (i = 0; i < nthr; i++) {
		pthread_join(tid[i], &res);
		bad |= res != NULL;
	}
	t = cpu() - t0;
	if (bad) {
		fprintf(stderr, "a message was not signed\n");
		return 1;
	}
	printf("%ld messages, %d signatures, %.2f CPU s: %.0f messages/s, "
	       "%.1f us per signature, key cache hits %lu%s\n", nmsg * nthr, nsig, t,
	       nmsg * nthr / t, t / nsig * 1e6, keycache_hits() - hits,
	       nocache ? " (cache dropped)" : "");
	conf_install(NULL);
	conf_release(conf);
	return 0;
}
