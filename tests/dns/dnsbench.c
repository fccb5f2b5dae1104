/*
 * NAME
 *	dnsbench - mailwarden's resolver against libunbound (measurement)
 * SYNOPSIS
 *	cc -O2 -I. -Isrc tests/dns/dnsbench.c libmw.a -lunbound -o tests/dns/dnsbench
 *	tests/dns/dnsbench PORT [RUNS]
 * DESCRIPTION
 *	Not part of make check (it needs libunbound, which mailwarden does
 *	not link). Start an nsd on 127.0.0.1:PORT serving example.test with
 *	a TXT record at example.test (tests/dns/resolver.sh's zone will do,
 *	MW_KEEP=1 keeps it), then run this. For each resolver it measures,
 *	one thread, RUNS times (default 5), and prints the median:
 *
 *	  hit	a cached TXT answer (1000 names, round robin, all cached)
 *	  miss	a TXT lookup of a name never asked (nsd answers NXDOMAIN),
 *		the round trip to nsd included
 *
 *	libunbound: one ub_ctx forwarding to the nsd (do-not-query-localhost:
 *	no), ub_resolve() (synchronous) and ub_resolve_async() + ub_wait()
 *	(what a resolver with a per-message deadline would have to use).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/nameser.h>
#include <unbound.h>

#include "dns.h"

#define HIT_NAMES	1000
#define HIT_OPS		20000
#define MISS_OPS	2000

static unsigned serial;			/* makes every miss name new */

/* now_ns - monotonic nanoseconds */
static double
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

/* cmp - for qsort */
static int
cmp(const void *a, const void *b)
{
	double	x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* own_one - one lookup through mailwarden's resolver */
static void
own_one(void *r, const char *name)
{
	unsigned char ans[4096];
	size_t	len = sizeof(ans);

	if (dns_query(r, name, ns_t_txt, ans, &len) == DNS_TEMPFAIL) {
		fprintf(stderr, "own: %s\n", dns_last_error());
		exit(1);
	}
}

/* ub_one - one synchronous libunbound lookup */
static void
ub_one(void *ctx, const char *name)
{
	struct ub_result *res;
	int	e;

	if ((e = ub_resolve(ctx, name, ns_t_txt, 1, &res)) != 0) {
		fprintf(stderr, "ub_resolve: %s\n", ub_strerror(e));
		exit(1);
	}
	ub_resolve_free(res);
}

/* ub_cb - the async callback */
static void
ub_cb(void *arg, int err, struct ub_result *res)
{
	*(int *) arg = 1;
	if (err == 0)
		ub_resolve_free(res);
}

/* uba_one - one async libunbound lookup, waited for */
static void
uba_one(void *ctx, const char *name)
{
	int	done = 0, e;

	if ((e = ub_resolve_async(ctx, name, ns_t_txt, 1, &done, ub_cb, NULL)) != 0) {
		fprintf(stderr, "ub_resolve_async: %s\n", ub_strerror(e));
		exit(1);
	}
	while (!done)
		ub_wait(ctx);
}

/* hit_ns - ns per cached lookup */
static double
hit_ns(void (*one)(void *, const char *), void *h)
{
	char	name[64];
	double	t0;
	int	i;

	for (i = 0; i < HIT_NAMES; i++) {
		snprintf(name, sizeof(name), "h%d.example.test", i);
		one(h, name);
	}
	t0 = now_ns();
	for (i = 0; i < HIT_OPS; i++) {
		snprintf(name, sizeof(name), "h%d.example.test", i % HIT_NAMES);
		one(h, name);
	}
	return (now_ns() - t0) / HIT_OPS;
}

/* miss_ns - ns per lookup of a new name */
static double
miss_ns(void (*one)(void *, const char *), void *h)
{
	char	name[64];
	double	t0 = now_ns();
	int	i;

	for (i = 0; i < MISS_OPS; i++) {
		snprintf(name, sizeof(name), "m%u.example.test", serial++);
		one(h, name);
	}
	return (now_ns() - t0) / MISS_OPS;
}

/* ub_new - a libunbound context forwarding to the nsd */
static struct ub_ctx *
ub_new(int port, int async)
{
	struct ub_ctx *ctx = ub_ctx_create();
	char	fwd[64];

	snprintf(fwd, sizeof(fwd), "127.0.0.1@%d", port);
	if (ctx == NULL || ub_ctx_set_option(ctx, "do-not-query-localhost:", "no")
	    || ub_ctx_set_fwd(ctx, fwd) || ub_ctx_async(ctx, async)) {
		fprintf(stderr, "cannot set up libunbound\n");
		exit(1);
	}
	return ctx;
}

/* run - RUNS measurements of one resolver; medians into hit and miss */
static void
run(const char *what, int port, int runs)
{
	double	h[32], m[32];
	int	i;

	for (i = 0; i < runs; i++) {
		char	srv[64], err[256], *s[1] = {srv};
		void   *r;
		void	(*one)(void *, const char *);

		snprintf(srv, sizeof(srv), "127.0.0.1:%d", port);
		if (strcmp(what, "mailwarden") == 0) {
			r = dns_new(s, 1, 2, 100000, err, sizeof(err));
			one = own_one;
		} else {
			r = ub_new(port, strcmp(what, "ub_resolve_async") == 0);
			one = strcmp(what, "ub_resolve") == 0 ? ub_one : uba_one;
		}
		h[i] = hit_ns(one, r);
		m[i] = miss_ns(one, r);
		if (strcmp(what, "mailwarden") == 0)
			dns_free(r);
		else
			ub_ctx_delete(r);
	}
	qsort(h, (size_t) runs, sizeof(h[0]), cmp);
	qsort(m, (size_t) runs, sizeof(m[0]), cmp);
	printf("%-18s hit %9.2f us   miss %9.2f us   (median of %d; hit range %.2f-%.2f)\n",
	       what, h[runs / 2] / 1000, m[runs / 2] / 1000, runs, h[0] / 1000,
	       h[runs - 1] / 1000);
}

int
main(int argc, char **argv)
{
	int	port, runs;

	if (argc < 2) {
		fprintf(stderr, "usage: dnsbench PORT [RUNS]\n");
		return 2;
	}
	port = atoi(argv[1]);
	runs = argc > 2 ? atoi(argv[2]) : 5;
	if (runs < 1 || runs > 32)
		runs = 5;
	setvbuf(stdout, NULL, _IOLBF, 0);
	serial = (unsigned) time(NULL) % 100000 * 10000;
	run("mailwarden", port, runs);
	run("ub_resolve", port, runs);
	run("ub_resolve_async", port, runs);
	return 0;
}
