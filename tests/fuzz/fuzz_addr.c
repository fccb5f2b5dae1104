/*
 * fuzz_addr - libFuzzer target: From field bodies and domains (addr.c).
 *
 * The input is a From field body as the MTA hands it over (any bytes
 * up to the first NUL). Checks beside the sanitizers: a parse that
 * succeeds names 1..ADDR_MAX_MAILBOXES mailboxes and that many distinct
 * domains at most, each a valid lower-case host name; a parse that fails
 * says why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

#include "fuzz.h"

/* check_from - addr_parse_from and what it promises */
static void
check_from(const char *s)
{
	struct addr_from out;
	char	err[128];
	unsigned i, j;

	err[0] = 0;
	if (addr_parse_from(s, &out, err, sizeof(err)) < 0) {
		FUZZ_ASSERT(err[0] != 0);
		return;
	}
	FUZZ_ASSERT(out.nmailbox >= 1 && out.nmailbox <= ADDR_MAX_MAILBOXES);
	FUZZ_ASSERT(out.ndomain >= 1 && out.ndomain <= out.nmailbox);
	for (i = 0; i < out.ndomain; i++) {
		FUZZ_ASSERT(addr_domain_ok(out.domain[i]));
		for (j = 0; out.domain[i][j]; j++)
			FUZZ_ASSERT(out.domain[i][j] < 'A' || out.domain[i][j] > 'Z');
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(out.domain[i], out.domain[j]) != 0);
	}
}

/* check_domain - the domain helpers on the same bytes */
static void
check_domain(const char *s, size_t n)
{
	char	d[ADDR_DOMAIN_LEN], half[ADDR_DOMAIN_LEN];

	if (addr_domain_ascii(s, n, d, sizeof(d)) == 0) {
		FUZZ_ASSERT(addr_domain_ok(d));
		FUZZ_ASSERT(addr_is_subdomain(d, d));
	}
	if (addr_sender_domain(s, d, sizeof(d)) == 0)
		FUZZ_ASSERT(addr_domain_ok(d));
	/* Split the input in two for addr_is_subdomain. */
	memcpy(half, s, n / 2 < sizeof(half) - 1 ? n / 2 : sizeof(half) - 1);
	half[n / 2 < sizeof(half) - 1 ? n / 2 : sizeof(half) - 1] = 0;
	(void) addr_is_subdomain(s, half);
	(void) addr_is_subdomain(half, s);
	(void) addr_domain_ok(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char   *s = fuzz_cstring(data, size);

	if (s == NULL)
		return 0;
	check_from(s);
	check_domain(s, strlen(s));
	free(s);
	return 0;
}
