/*
 * fuzz_spf - libFuzzer target: SPF records from DNS through libspf2 1.2.10
 * (its record compiler and evaluator, macro expansion included), behind
 * the guard spf.c puts in front of it.
 *
 * libspf2's compiler writes past its buffer on a long macro-bearing term
 * (CVE-2023-42118); spf.c never hands it a record with such a term longer
 * than SPF_MAX_MACRO_TERM (spfcheck_term_too_long() in spf.c, the code under test). This
 * target gives libspf2 every record that passes that guard, as the TXT
 * record of example.test in a libspf2 zone (no network), and evaluates
 * MAIL FROM user@example.test from 192.0.2.10 with the limits spf.c sets:
 * a crash here is a crash of the daemon on a sender's DNS.
 */
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <spf2/spf.h>
#include <spf2/spf_dns_zone.h>

#include "spf.h"

#include "fuzz.h"

/* evaluate - record as example.test's TXT; MAIL FROM user@example.test */
static void
evaluate(const char *record)
{
	SPF_dns_server_t *zone = SPF_dns_zone_new(NULL, "fuzz", 0);
	SPF_server_t *srv;
	SPF_request_t *req;
	SPF_response_t *resp = NULL;

	FUZZ_ASSERT(zone != NULL);
	SPF_dns_zone_add_str(zone, "example.test", ns_t_txt, NETDB_SUCCESS, record);
	SPF_dns_zone_add_str(zone, "a.example.test", ns_t_a, NETDB_SUCCESS, "192.0.2.10");
	SPF_dns_zone_add_str(zone, "example.test", ns_t_mx, NETDB_SUCCESS, "a.example.test");
	FUZZ_ASSERT((srv = SPF_server_new_dns(zone, 0)) != NULL);
	SPF_server_set_max_dns_mech(srv, SPF_MAX_TERMS);
	SPF_server_set_max_dns_mx(srv, 10);
	SPF_server_set_max_dns_ptr(srv, 10);
	SPF_server_set_rec_dom(srv, "mx.example.test");
	FUZZ_ASSERT((req = SPF_request_new(srv)) != NULL);
	SPF_request_set_ipv4_str(req, "192.0.2.10");
	SPF_request_set_helo_dom(req, "mx.example.test");
	SPF_request_set_env_from(req, "user@example.test");
	(void) SPF_request_query_mailfrom(req, &resp);
	if (resp) {
		FUZZ_ASSERT(SPF_response_result(resp) <= SPF_RESULT_PERMERROR);
		SPF_response_free(resp);
	}
	SPF_request_free(req);
	SPF_server_free(srv);
	SPF_dns_free(zone);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char   *s;

	if (SPF_warning_handler) {
		SPF_warning_handler = NULL;	/* as spf.c: libspf2 prints otherwise */
		SPF_info_handler = NULL;
		SPF_debug_handler = NULL;
	}
	if ((s = fuzz_cstring(data, size)) == NULL)
		return 0;
	if (!spfcheck_term_too_long(s))
		evaluate(s);
	free(s);
	return 0;
}
