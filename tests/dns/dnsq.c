/*
 * NAME
 *	dnsq - look names up through mailwarden's resolver (tests)
 * SYNOPSIS
 *	dnsq [-s ip[:port]]... [-t timeout] [-b budget] [-c cache_size]
 *	     [-m raw|spf|dkim] TYPE NAME [TYPE NAME ...]
 * DESCRIPTION
 *	Makes one resolver (src/dns.c) and looks every (TYPE, NAME) up in
 *	order, in one process, so the second lookup of a name shows the
 *	cache. One line per lookup:
 *
 *	  TYPE NAME STATUS n=RECORDS ms=ELAPSED [RECORD...]
 *
 *	-m raw (default): dns_txt() for TXT, dns_query() for the others;
 *	   STATUS is OK, NXDOMAIN, TEMPFAIL or PERMFAIL; TXT records are
 *	   printed as len:text.
 *	-m spf: through the libspf2 layer (dns_spf_server()); STATUS is the
 *	   h_errno libspf2 sees: SUCCESS, HOST_NOT_FOUND, NO_DATA, TRY_AGAIN,
 *	   NO_RECOVERY; A/AAAA/MX/PTR/TXT records are printed.
 *	-m dkim: TYPE is a selector and NAME a domain; the key is fetched
 *	   through the libopendkim hooks (dns_dkim_hooks(), dkim_test_key());
 *	   STATUS is OK or FAIL with the library's reason.
 *	-b: a budget of that many seconds covers all lookups of the run.
 *	The pair "sleep SECONDS" waits between lookups (TTL expiry).
 *	The last line is "stats queries=N hits=M" (the resolver's counters).
 *	Exit status 0, or 2 for a usage or set-up error.
 */
#include "autoconf.h"

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>
#include <opendkim/dkim.h>

#include "dns.h"

#define MAXSRV	8

static struct dns_resolver *res;

/* type_of - a record type by name */
static int
type_of(const char *name)
{
	static const struct {
		const char *name;
		int	type;
	}	t[] = {
		{"A", ns_t_a}, {"AAAA", ns_t_aaaa}, {"MX", ns_t_mx},
		{"PTR", ns_t_ptr}, {"TXT", ns_t_txt}, {"SOA", ns_t_soa},
		{"NS", ns_t_ns}, {"CNAME", ns_t_cname}, {"SPF", ns_t_spf},
	};
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(t[i].name, name) == 0)
			return t[i].type;
	return -1;
}

/* ms_since - milliseconds since t0 */
static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long) (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* status_name - a dns_status as text */
static const char *
status_name(enum dns_status st)
{
	static const char *const n[] = {"OK", "NXDOMAIN", "TEMPFAIL", "PERMFAIL"};

	return (unsigned) st < 4 ? n[st] : "?";
}

/* raw_lookup - dns_txt or dns_query */
static void
raw_lookup(const char *tname, int type, const char *name)
{
	static char txt[65536];
	static unsigned char ans[65535];
	struct timespec t0;
	enum dns_status st;
	unsigned n = 0, i;
	size_t	alen = sizeof(ans);
	const char *p;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (type == ns_t_txt)
		st = dns_txt(res, name, txt, sizeof(txt), &n);
	else {
		st = dns_query(res, name, type, ans, &alen);
		n = alen >= 12 ? ((unsigned) ans[6] << 8 | ans[7]) : 0;
	}
	printf("%s %s %s n=%u ms=%ld", tname, name, status_name(st), n, ms_since(&t0));
	for (i = 0, p = txt; type == ns_t_txt && i < n; i++, p += strlen(p) + 1)
		printf(" %zu:%s", strlen(p), p);
	if (st == DNS_TEMPFAIL || st == DNS_PERMFAIL)
		printf(" (%s)", dns_last_error());
	printf("\n");
}

/* herrno_name - libspf2's view of a lookup */
static const char *
herrno_name(int h)
{
	switch (h) {
	case NETDB_SUCCESS:
		return "SUCCESS";
	case HOST_NOT_FOUND:
		return "HOST_NOT_FOUND";
	case NO_DATA:
		return "NO_DATA";
	case TRY_AGAIN:
		return "TRY_AGAIN";
	case NO_RECOVERY:
		return "NO_RECOVERY";
	default:
		return "?";
	}
}

/* spf_print - one record of an SPF_dns_rr_t */
static void
spf_print(const SPF_dns_rr_t *rr, int i)
{
	char	buf[INET6_ADDRSTRLEN];

	if (rr->rr_type == ns_t_a)
		printf(" %s", inet_ntop(AF_INET, &rr->rr[i]->a, buf, sizeof(buf)));
	else if (rr->rr_type == ns_t_aaaa)
		printf(" %s", inet_ntop(AF_INET6, &rr->rr[i]->aaaa, buf, sizeof(buf)));
	else
		printf(" %zu:%s", strlen(rr->rr[i]->txt), rr->rr[i]->txt);
}

/* spf_lookup - through the libspf2 layer */
static void
spf_lookup(SPF_dns_server_t *srv, const char *tname, int type, const char *name)
{
	struct timespec t0;
	SPF_dns_rr_t *rr;
	int	i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rr = SPF_dns_lookup(srv, name, (ns_type) type, 1);
	if (rr == NULL) {
		printf("%s %s NULL\n", tname, name);
		return;
	}
	printf("%s %s %s n=%d ms=%ld", tname, name, herrno_name(rr->herrno),
	       rr->num_rr, ms_since(&t0));
	for (i = 0; i < rr->num_rr; i++)
		spf_print(rr, i);
	printf("\n");
	SPF_dns_rr_free(rr);
}

/* dkim_lookup - a key through the libopendkim hooks */
static void
dkim_lookup(DKIM_LIB *lib, const char *sel, const char *dom)
{
	char	err[256] = "", s[256], d[256];
	struct timespec t0;
	int	r;

	snprintf(s, sizeof(s), "%s", sel);
	snprintf(d, sizeof(d), "%s", dom);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = dkim_test_key(lib, s, d, NULL, 0, NULL, err, sizeof(err));
	printf("%s %s %s n=%d ms=%ld%s%s\n", sel, dom, r == 0 ? "OK" : "FAIL",
	       r == 0, ms_since(&t0), *err ? " " : "", err);
}

/* usage - say how, exit 2 */
static void
usage(void)
{
	fprintf(stderr, "usage: dnsq [-s ip[:port]]... [-t timeout] [-b budget] "
		"[-c cache_size] [-m raw|spf|dkim] TYPE NAME...\n");
	exit(2);
}

/* run - every (TYPE, NAME) pair in mode */
static void
run(const char *mode, int argc, char **argv)
{
	SPF_dns_server_t *spf = NULL;
	DKIM_LIB *lib = NULL;
	int	i;

	if (strcmp(mode, "spf") == 0 && (spf = dns_spf_server(res)) == NULL)
		exit(2);
	if (strcmp(mode, "dkim") == 0 && ((lib = dkim_init(NULL, NULL)) == NULL
					  || dns_dkim_hooks(lib, res) < 0))
		exit(2);
	for (i = 0; i + 1 < argc; i += 2) {
		int	type = type_of(argv[i]);

		if (strcmp(argv[i], "sleep") == 0)
			sleep((unsigned) atoi(argv[i + 1]));
		else if (lib)
			dkim_lookup(lib, argv[i], argv[i + 1]);
		else if (type < 0)
			usage();
		else if (spf)
			spf_lookup(spf, argv[i], type, argv[i + 1]);
		else
			raw_lookup(argv[i], type, argv[i + 1]);
		fflush(stdout);
	}
	if (spf)
		SPF_dns_free(spf);
	if (lib)
		dkim_close(lib);
}

int
main(int argc, char **argv)
{
	char   *srv[MAXSRV], err[256];
	const char *mode = "raw";
	unsigned nsrv = 0, cache = 1000;
	int	c, timeout = 2, budget = 0;
	struct dns_budget b;
	unsigned long q, h;

	while ((c = getopt(argc, argv, "s:t:b:c:m:")) != -1) {
		if (c == 's' && nsrv < MAXSRV)
			srv[nsrv++] = optarg;
		else if (c == 't')
			timeout = atoi(optarg);
		else if (c == 'b')
			budget = atoi(optarg);
		else if (c == 'c')
			cache = (unsigned) atoi(optarg);
		else if (c == 'm')
			mode = optarg;
		else
			usage();
	}
	if (optind >= argc || (argc - optind) % 2)
		usage();
	if ((res = dns_new(srv, nsrv, timeout, cache, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dnsq: %s\n", err);
		return 2;
	}
	if (budget > 0) {
		dns_budget_start(&b, budget);
		dns_budget_set(&b);
	}
	run(mode, argc - optind, argv + optind);
	dns_stats(res, &q, &h);
	printf("stats queries=%lu hits=%lu\n", q, h);
	dns_free(res);
	return 0;
}
