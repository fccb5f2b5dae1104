/*
 * test_dns_wire - the resolver's reading of hand-made replies: queries,
 * reply matching, cache TTLs (positive, RFC 2308 negative, caps), TXT
 * records, the libspf2 record sets and their status, malformed replies;
 * the server list (dns_servers forms, resolv.conf); the budget.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <cmocka.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>

#include "dns.h"
#include "dns_int.h"
#include "dnsmsg.h"

#define REPLY	(DNSMSG_QR | DNSMSG_AA | DNSMSG_RD)

static void
test_key(void **state)
{
	char	key[DNS_MAX_NAME + 1], name[300];

	(void) state;
	assert_int_equal(dns_wire_key("Example.COM.", key, sizeof(key)), 0);
	assert_string_equal(key, "example.com");
	assert_int_equal(dns_wire_key("", key, sizeof(key)), 0);
	assert_string_equal(key, "");
	memset(name, 'a', 254);
	name[254] = 0;
	assert_int_equal(dns_wire_key(name, key, sizeof(key)), -1);
	name[253] = 0;
	assert_int_equal(dns_wire_key(name, key, sizeof(key)), 0);
}

static void
test_query(void **state)
{
	static const unsigned char want[] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0,
		0, 16, 0, 1,
	};
	unsigned char buf[512];
	char	label[80];

	(void) state;
	assert_int_equal(dns_wire_query("example.test", 16, 0x1234, buf, sizeof(buf)),
			 sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	memset(label, 'a', 64);			/* a label of 64: not a name */
	strcpy(label + 64, ".test");
	assert_int_equal(dns_wire_query(label, 16, 1, buf, sizeof(buf)), -1);
	assert_int_equal(dns_wire_query("example.test", 16, 1, buf, 20), -1);
}

static void
test_isreply(void **state)
{
	unsigned char q[512];
	struct dnsmsg m;
	int	qlen = dns_wire_query("example.test", 16, 0xbeef, q, sizeof(q));

	(void) state;
	dnsmsg_hdr(&m, 0xbeef, REPLY, 1, 0, 0, 0);
	dnsmsg_q(&m, "EXAMPLE.Test", 16);	/* case may differ (0x20) */
	assert_int_equal(dns_wire_isreply(q, qlen, m.b, m.n), 1);
	dnsmsg_hdr(&m, 0xbeee, REPLY, 1, 0, 0, 0);	/* other ID */
	dnsmsg_q(&m, "example.test", 16);
	assert_int_equal(dns_wire_isreply(q, qlen, m.b, m.n), 0);
	dnsmsg_hdr(&m, 0xbeef, DNSMSG_RD, 1, 0, 0, 0);	/* a query, not a reply */
	dnsmsg_q(&m, "example.test", 16);
	assert_int_equal(dns_wire_isreply(q, qlen, m.b, m.n), 0);
	dnsmsg_hdr(&m, 0xbeef, REPLY, 1, 0, 0, 0);	/* other type */
	dnsmsg_q(&m, "example.test", 1);
	assert_int_equal(dns_wire_isreply(q, qlen, m.b, m.n), 0);
	dnsmsg_hdr(&m, 0xbeef, REPLY, 1, 0, 0, 0);	/* other name */
	dnsmsg_q(&m, "example.tesu", 16);
	assert_int_equal(dns_wire_isreply(q, qlen, m.b, m.n), 0);
	dnsmsg_hdr(&m, 0xbeef, REPLY | 1, 0, 0, 0, 0);	/* FORMERR, no question */
	assert_int_equal(dns_wire_isreply(q, qlen, m.b, m.n), 0);
	assert_int_equal(dns_wire_isreply(q, qlen, m.b, 5), 0);
}

static void
test_rcode_tc(void **state)
{
	struct dnsmsg m;

	(void) state;
	dnsmsg_hdr(&m, 1, REPLY | DNSMSG_TC | 2, 0, 0, 0, 0);
	assert_int_equal(dns_wire_rcode(m.b, m.n), 2);
	assert_int_equal(dns_wire_truncated(m.b, m.n), 1);
	assert_int_equal(dns_wire_rcode(m.b, 11), -1);
	assert_int_equal(dns_wire_truncated(m.b, 11), 0);
}

static const unsigned char ip1[4] = {192, 0, 2, 1}, ip2[4] = {192, 0, 2, 2};

static void
test_ttl_positive(void **state)
{
	struct dnsmsg m;

	(void) state;
	dnsmsg_hdr(&m, 1, REPLY, 1, 2, 0, 0);
	dnsmsg_q(&m, "host.test", 1);
	dnsmsg_rr(&m, "host.test", 1, 300, ip1, 4);
	dnsmsg_rr(&m, "host.test", 1, 60, ip2, 4);
	assert_int_equal(dns_wire_ttl(m.b, m.n), 60);	/* the shortest */
	dnsmsg_hdr(&m, 1, REPLY, 1, 1, 0, 0);
	dnsmsg_q(&m, "host.test", 1);
	dnsmsg_rr(&m, "host.test", 1, 10000000, ip1, 4);
	assert_int_equal(dns_wire_ttl(m.b, m.n), DNS_CACHE_MAX_TTL);
	dnsmsg_hdr(&m, 1, REPLY, 1, 1, 0, 0);
	dnsmsg_q(&m, "host.test", 1);
	dnsmsg_rr(&m, "host.test", 1, 0x80000000UL, ip1, 4);	/* RFC 2181: 0 */
	assert_int_equal(dns_wire_ttl(m.b, m.n), 0);
	dnsmsg_hdr(&m, 1, REPLY | DNSMSG_TC, 1, 1, 0, 0);	/* truncated */
	dnsmsg_q(&m, "host.test", 1);
	dnsmsg_rr(&m, "host.test", 1, 300, ip1, 4);
	assert_int_equal(dns_wire_ttl(m.b, m.n), 0);
	dnsmsg_hdr(&m, 1, REPLY | 2, 1, 0, 0, 0);		/* SERVFAIL */
	dnsmsg_q(&m, "host.test", 1);
	assert_int_equal(dns_wire_ttl(m.b, m.n), 0);
}

static void
test_ttl_negative(void **state)
{
	struct dnsmsg m;

	(void) state;
	dnsmsg_hdr(&m, 1, REPLY | 3, 1, 0, 1, 0);		/* NXDOMAIN */
	dnsmsg_q(&m, "nx.test", 16);
	dnsmsg_soa(&m, "test", 300, 60);
	assert_int_equal(dns_wire_ttl(m.b, m.n), 60);
	dnsmsg_hdr(&m, 1, REPLY, 1, 0, 1, 0);			/* NODATA */
	dnsmsg_q(&m, "host.test", 16);
	dnsmsg_soa(&m, "test", 30, 600);
	assert_int_equal(dns_wire_ttl(m.b, m.n), 30);
	dnsmsg_hdr(&m, 1, REPLY | 3, 1, 0, 1, 0);		/* capped */
	dnsmsg_q(&m, "nx.test", 16);
	dnsmsg_soa(&m, "test", 86400, 86400);
	assert_int_equal(dns_wire_ttl(m.b, m.n), DNS_CACHE_MAX_NEG_TTL);
	dnsmsg_hdr(&m, 1, REPLY | 3, 1, 0, 0, 0);		/* no SOA: not kept */
	dnsmsg_q(&m, "nx.test", 16);
	assert_int_equal(dns_wire_ttl(m.b, m.n), 0);
	dnsmsg_hdr(&m, 1, REPLY, 1, 1, 1, 0);	/* CNAME to a name without TXT */
	dnsmsg_q(&m, "alias.test", 16);
	dnsmsg_rr(&m, "alias.test", 5, 3600, "\4host\4test", 11);
	dnsmsg_soa(&m, "test", 120, 120);
	assert_int_equal(dns_wire_ttl(m.b, m.n), 120);
}

static void
test_malformed(void **state)
{
	struct dnsmsg m;
	char	out[64];
	unsigned n;

	(void) state;
	dnsmsg_hdr(&m, 1, REPLY, 1, 1, 0, 0);	/* rdlength past the end */
	dnsmsg_q(&m, "host.test", 1);
	dnsmsg_name(&m, "host.test");
	dnsmsg_rrfix(&m, 1, 300, 40);
	dnsmsg_bytes(&m, ip1, 4);
	assert_int_equal(dns_wire_ttl(m.b, m.n), 0);
	assert_int_equal(dns_wire_txt(m.b, m.n, out, sizeof(out), &n), -1);
	dnsmsg_hdr(&m, 1, REPLY, 1, 2, 0, 0);	/* ancount larger than the records */
	dnsmsg_q(&m, "host.test", 1);
	dnsmsg_rr(&m, "host.test", 1, 300, ip1, 4);
	assert_int_equal(dns_wire_ttl(m.b, m.n), 0);
	dnsmsg_hdr(&m, 1, REPLY, 1, 1, 0, 0);	/* TXT string longer than rdata */
	dnsmsg_q(&m, "t.test", 16);
	dnsmsg_rr(&m, "t.test", 16, 300, "\10abc", 4);
	assert_int_equal(dns_wire_txt(m.b, m.n, out, sizeof(out), &n), -1);
	dnsmsg_hdr(&m, 1, REPLY, 1, 0, 0, 0);	/* question cut short */
	dnsmsg_name(&m, "t.test");
	assert_int_equal(dns_wire_txt(m.b, m.n, out, sizeof(out), &n), -1);
}

static void
test_txt(void **state)
{
	struct dnsmsg m;
	char	out[64];
	unsigned n;

	(void) state;
	dnsmsg_hdr(&m, 1, REPLY, 1, 5, 0, 0);
	dnsmsg_q(&m, "t.test", 16);
	dnsmsg_txt(&m, "t.test", 300, 2, "v=spf1 ", "-all");	/* joined */
	dnsmsg_rr(&m, "t.test", 1, 300, ip1, 4);		/* not TXT: passed over */
	dnsmsg_txt(&m, "t.test", 300, 0);			/* an empty record */
	dnsmsg_rr(&m, "t.test", 16, 300, "\3a\0b", 4);	/* holds a NUL: left out */
	dnsmsg_txt(&m, "t.test", 300, 1, "last");
	assert_int_equal(dns_wire_txt(m.b, m.n, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "v=spf1 -all\0\0last\0\0", 19);
	/* exactly enough room: 12 + 1 + 5 + 1 */
	assert_int_equal(dns_wire_txt(m.b, m.n, out, 19, &n), 0);
	/* one byte less: refused, never cut */
	assert_int_equal(dns_wire_txt(m.b, m.n, out, 18, &n), -2);
	dnsmsg_hdr(&m, 1, REPLY, 1, 0, 0, 0);			/* NODATA */
	dnsmsg_q(&m, "t.test", 16);
	assert_int_equal(dns_wire_txt(m.b, m.n, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(out[0], 0);
}

/* spf_fill - the libspf2 record set of a reply */
static SPF_dns_rr_t *
spf_fill(struct dnsmsg *m, ns_type type, int expect)
{
	SPF_dns_rr_t *rr = SPF_dns_rr_new_init(NULL, "q.test", type, 0, NETDB_SUCCESS);

	assert_non_null(rr);
	assert_int_equal(dns_spf_fill(rr, m->b, m->n), expect);
	return rr;
}

static void
test_spf_a_aaaa(void **state)
{
	static const unsigned char ip6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	struct dnsmsg m;
	SPF_dns_rr_t *rr;

	(void) state;
	dnsmsg_hdr(&m, 1, REPLY, 1, 3, 0, 0);	/* CNAME, then the addresses */
	dnsmsg_q(&m, "alias.test", ns_t_a);
	dnsmsg_rr(&m, "alias.test", ns_t_cname, 300, "\4host\4test", 11);
	dnsmsg_rr(&m, "host.test", ns_t_a, 300, ip1, 4);
	dnsmsg_rr(&m, "host.test", ns_t_a, 300, ip2, 4);
	rr = spf_fill(&m, ns_t_a, 0);
	assert_int_equal(rr->herrno, NETDB_SUCCESS);
	assert_int_equal(rr->num_rr, 2);
	assert_memory_equal(&rr->rr[1]->a, ip2, 4);
	SPF_dns_rr_free(rr);
	dnsmsg_hdr(&m, 1, REPLY, 1, 1, 0, 0);
	dnsmsg_q(&m, "host.test", ns_t_aaaa);
	dnsmsg_rr(&m, "host.test", ns_t_aaaa, 300, ip6, 16);
	rr = spf_fill(&m, ns_t_aaaa, 0);
	assert_int_equal(rr->num_rr, 1);
	assert_memory_equal(&rr->rr[0]->aaaa, ip6, 16);
	SPF_dns_rr_free(rr);
	dnsmsg_hdr(&m, 1, REPLY, 1, 1, 0, 0);	/* an A record of 5 bytes */
	dnsmsg_q(&m, "host.test", ns_t_a);
	dnsmsg_rr(&m, "host.test", ns_t_a, 300, "\1\2\3\4\5", 5);
	rr = spf_fill(&m, ns_t_a, -1);
	assert_int_equal(rr->herrno, TRY_AGAIN);
	assert_int_equal(rr->num_rr, 0);
	SPF_dns_rr_free(rr);
}

static void
test_spf_names(void **state)
{
	struct dnsmsg m;
	SPF_dns_rr_t *rr;

	(void) state;
	dnsmsg_hdr(&m, 1, REPLY, 1, 2, 0, 0);	/* MX: compressed, then plain */
	dnsmsg_q(&m, "example.test", ns_t_mx);	/* name at offset 12 */
	dnsmsg_ptr(&m, 12);
	dnsmsg_rrfix(&m, ns_t_mx, 300, 2 + 5);
	dnsmsg_u16(&m, 10);
	dnsmsg_bytes(&m, "\2mx", 3);
	dnsmsg_ptr(&m, 12);
	dnsmsg_ptr(&m, 12);
	dnsmsg_rrfix(&m, ns_t_mx, 300, 2 + 18);
	dnsmsg_u16(&m, 20);
	dnsmsg_name(&m, "mx2.example.test");
	rr = spf_fill(&m, ns_t_mx, 0);
	assert_int_equal(rr->num_rr, 2);
	assert_string_equal(rr->rr[0]->mx, "mx.example.test");
	assert_string_equal(rr->rr[1]->mx, "mx2.example.test");
	SPF_dns_rr_free(rr);
	dnsmsg_hdr(&m, 1, REPLY, 1, 1, 0, 0);	/* PTR */
	dnsmsg_q(&m, "1.2.0.192.in-addr.arpa", ns_t_ptr);
	dnsmsg_rr(&m, "1.2.0.192.in-addr.arpa", ns_t_ptr, 300,
		  "\4host\7example\4test", 19);
	rr = spf_fill(&m, ns_t_ptr, 0);
	assert_string_equal(rr->rr[0]->ptr, "host.example.test");
	SPF_dns_rr_free(rr);
	dnsmsg_hdr(&m, 1, REPLY, 1, 1, 0, 0);	/* pointer forward, past the end */
	dnsmsg_q(&m, "example.test", ns_t_ptr);
	dnsmsg_rr(&m, "example.test", ns_t_ptr, 300, "\xc0\xff", 2);
	rr = spf_fill(&m, ns_t_ptr, -1);
	assert_int_equal(rr->herrno, TRY_AGAIN);
	SPF_dns_rr_free(rr);
}

static void
test_spf_txt_status(void **state)
{
	struct dnsmsg m;
	SPF_dns_rr_t *rr;

	(void) state;
	dnsmsg_hdr(&m, 1, REPLY, 1, 2, 0, 0);
	dnsmsg_q(&m, "example.test", ns_t_txt);
	dnsmsg_txt(&m, "example.test", 300, 3, "v=spf1 ", "ip4:192.0.2.0/24 ", "-all");
	dnsmsg_txt(&m, "example.test", 300, 1, "google-site-verification=x");
	rr = spf_fill(&m, ns_t_txt, 0);
	assert_int_equal(rr->num_rr, 2);
	assert_string_equal(rr->rr[0]->txt, "v=spf1 ip4:192.0.2.0/24 -all");
	assert_string_equal(rr->rr[1]->txt, "google-site-verification=x");
	SPF_dns_rr_free(rr);
	dnsmsg_hdr(&m, 1, REPLY, 1, 1, 1, 0);	/* only an A: NO_DATA for TXT */
	dnsmsg_q(&m, "example.test", ns_t_txt);
	dnsmsg_rr(&m, "example.test", ns_t_a, 300, ip1, 4);
	dnsmsg_soa(&m, "test", 300, 60);
	rr = spf_fill(&m, ns_t_txt, 0);
	assert_int_equal(rr->herrno, NO_DATA);	/* a void lookup for SPF */
	assert_int_equal(rr->num_rr, 0);
	SPF_dns_rr_free(rr);
}

static void
test_servers(void **state)
{
	static const char *const good[] = {
		"192.0.2.1", "192.0.2.1:5353", "2001:db8::1", "[2001:db8::1]:5353",
		"[::1]", "::1",
	};
	static const char *const bad[] = {
		"", "example.test", "192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:x",
		"[::1]x", "[::1", "192.0.2.300", "1.2.3.4:53:53",
	};
	struct dns_server s;
	char	err[256], text[80];
	size_t	i;

	(void) state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(dns_conf_server(good[i], &s, err, sizeof(err)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dns_conf_server(bad[i], &s, err, sizeof(err)), -1);
	assert_int_equal(dns_conf_server("[2001:db8::1]:5353", &s, err, sizeof(err)), 0);
	dns_conf_print(&s, text, sizeof(text));
	assert_string_equal(text, "[2001:db8::1]:5353");
	assert_int_equal(dns_conf_server("192.0.2.1", &s, err, sizeof(err)), 0);
	dns_conf_print(&s, text, sizeof(text));
	assert_string_equal(text, "192.0.2.1:53");
}

/* resolvconf - the servers of a resolv.conf with this text, as "a b c" */
static int
resolvconf(const char *text, char *out, size_t len)
{
	char	path[] = "/tmp/test_dns_wire.XXXXXX", err[256], one[80];
	struct dns_server s[DNS_MAX_SERVERS];
	int	fd = mkstemp(path), n, i;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	close(fd);
	n = dns_conf_resolvconf(path, s, DNS_MAX_SERVERS, err, sizeof(err));
	unlink(path);
	out[0] = 0;
	for (i = 0; i < n; i++) {
		dns_conf_print(&s[i], one, sizeof(one));
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "", one);
	}
	return n;
}

static void
test_resolvconf(void **state)
{
	char	out[400], err[256];
	struct dns_server s[DNS_MAX_SERVERS];

	(void) state;
	assert_int_equal(resolvconf("# comment\nsearch example.test\n"
				    "nameserver 192.0.2.53\n"
				    "nameserver\t2001:db8::53   # v6\n"
				    "nameserver bogus\n"
				    "nameserver 192.0.2.54\n"
				    "nameserver 192.0.2.55\n", out, sizeof(out)), 3);
	assert_string_equal(out, "192.0.2.53:53 [2001:db8::53]:53 192.0.2.54:53");
	assert_int_equal(resolvconf("options timeout:1\n", out, sizeof(out)), 1);
	assert_string_equal(out, "127.0.0.1:53");
	assert_int_equal(dns_conf_resolvconf("/nonexistent/resolv.conf", s,
					     DNS_MAX_SERVERS, err, sizeof(err)), 1);
}

static void
test_resolver_offline(void **state)
{
	char   *srv[] = {"127.0.0.1:5353", "[::1]"}, *bad[] = {"nonsense"};
	char	err[256], text[200];
	unsigned char ans[512];
	size_t	alen = sizeof(ans);
	struct dns_resolver *r;
	struct dns_budget b;
	unsigned long q, h;

	(void) state;
	assert_null(dns_new(bad, 1, 2, 100, err, sizeof(err)));
	assert_non_null(strstr(err, "nonsense"));
	r = dns_new(srv, 2, 2, 100, err, sizeof(err));
	assert_non_null(r);
	dns_servers_text(r, text, sizeof(text));
	assert_string_equal(text, "127.0.0.1:5353, [::1]:53");
	/* a spent budget fails at once, without a query */
	dns_budget_start(&b, 0);
	dns_budget_set(&b);
	assert_int_equal(dns_query(r, "example.test", 16, ans, &alen), DNS_TEMPFAIL);
	assert_int_equal(alen, 0);
	assert_int_equal(b.spent, 1);
	assert_int_equal(b.queries, 0);
	assert_non_null(strstr(dns_last_error(), "budget"));
	dns_budget_set(NULL);
	/* a name that cannot be queried */
	alen = sizeof(ans);
	memset(text, 'a', 70);
	strcpy(text + 70, ".test");
	assert_int_equal(dns_query(r, text, 16, ans, &alen), DNS_PERMFAIL);
	dns_stats(r, &q, &h);
	assert_int_equal(q, 0);
	assert_int_equal(h, 0);
	dns_free(r);
	/* no servers: resolv.conf's, always at least one */
	r = dns_new(NULL, 0, 2, 0, err, sizeof(err));
	assert_non_null(r);
	dns_servers_text(r, text, sizeof(text));
	assert_true(strlen(text) > 0);
	dns_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_isreply),
		cmocka_unit_test(test_rcode_tc),
		cmocka_unit_test(test_ttl_positive),
		cmocka_unit_test(test_ttl_negative),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_spf_a_aaaa),
		cmocka_unit_test(test_spf_names),
		cmocka_unit_test(test_spf_txt_status),
		cmocka_unit_test(test_servers),
		cmocka_unit_test(test_resolvconf),
		cmocka_unit_test(test_resolver_offline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
