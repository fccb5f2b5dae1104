/*
 * fuzz_dns_wire - libFuzzer target: DNS replies in wire format
 * (dns_wire.c, and dns_spf.c which turns them into libspf2 records).
 *
 * Input: one byte choosing the record type asked for, then a reply as a
 * server would send it. The reply is checked against a query for
 * q.example.test of that type, walked record by record, its TTL and TXT
 * records read, and filled into a libspf2 record set. Checks beside the
 * sanitizers: the TTL stays within the cache's bounds; the TXT output is
 * as many NUL-terminated records as counted, inside the buffer.
 */
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>

#include "dns_int.h"

#include "fuzz.h"

/* walk - every record of every section, as the cache and SPF read them */
static void
walk(const unsigned char *a, size_t n)
{
	struct dns_iter it;
	struct dns_rr rr;
	unsigned sect;

	for (sect = 1; sect <= 3; sect++) {
		if (dns_wire_iter(&it, a, n) < 0)
			return;
		while (dns_wire_next(&it, sect, &rr) == 1)
			FUZZ_ASSERT(rr.rdata >= a && rr.rdata + rr.rdlen <= a + n);
	}
}

/* txt - dns_wire_txt into a buffer of each size class */
static void
txt(const unsigned char *a, size_t n)
{
	static const size_t sizes[] = {1, 16, 300, 4096};
	char   *out, *p;
	unsigned i, nrec, k;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if ((out = malloc(sizes[i])) == NULL)
			return;
		if (dns_wire_txt(a, n, out, sizes[i], &nrec) == 0) {
			for (k = 0, p = out; k < nrec; k++) {
				FUZZ_ASSERT(p < out + sizes[i]);
				p += strnlen(p, (size_t) (out + sizes[i] - p)) + 1;
			}
			FUZZ_ASSERT(p < out + sizes[i] && *p == 0);
		}
		free(out);
	}
}

/* spf - the reply as libspf2's record set of one type */
static void
spf(const unsigned char *a, size_t n, int type)
{
	SPF_dns_rr_t *rr = SPF_dns_rr_new_init(NULL, "q.example.test", type, 0, NETDB_SUCCESS);

	if (rr == NULL)
		return;
	if (dns_spf_fill(rr, a, n) == 0)
		FUZZ_ASSERT(rr->num_rr >= 0);
	SPF_dns_rr_free(rr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = {ns_t_txt, ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr,
	ns_t_cname, ns_t_soa, ns_t_spf};
	unsigned char q[512], *a;
	int	type, qlen;
	size_t	n;

	if (size < 1)
		return 0;
	type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	n = size - 1;
	/* A copy of exactly the reply's size: reads past it are caught. */
	if ((a = malloc(n ? n : 1)) == NULL)
		return 0;
	memcpy(a, data + 1, n);
	qlen = dns_wire_query("q.example.test", type, 0x1234, q, sizeof(q));
	FUZZ_ASSERT(qlen > 0);
	(void) dns_wire_isreply(q, (size_t) qlen, a, n);
	(void) dns_wire_rcode(a, n);
	(void) dns_wire_truncated(a, n);
	FUZZ_ASSERT(dns_wire_ttl(a, n) <= DNS_CACHE_MAX_TTL);
	walk(a, n);
	txt(a, n);
	spf(a, n, type);
	free(a);
	return 0;
}
