/*
 * fuzz_dmarc - libFuzzer target: DMARC records from DNS (dmarc.c, and
 * libopendmarc's record parser under it), and the organizational-domain
 * and alignment helpers on untrusted domains.
 *
 * Input: TXT records as dns_txt() returns them (each NUL-terminated) for
 * _dmarc.example.test; the first record is also used as a From domain and
 * an authenticated domain for the alignment helpers. Checks beside the
 * sanitizers: a record that parses has p/sp among none, quarantine,
 * reject and pct in 0..100; a domain is aligned with itself (relaxed and
 * strict) whenever its organizational domain can be found.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"

#include "fuzz.h"

static psl_ctx_t *psl;

/* records - NUL-separated records of data, as dns_txt writes them; count */
static unsigned
records(char *buf, size_t size)
{
	unsigned n = 0;
	size_t	i;

	for (i = 0; i < size; i++)
		n += buf[i] == 0;
	return n;
}

/* check_record - pick and parse as the inbound stage does */
static void
check_record(const char *txt, unsigned nrec)
{
	struct dmarceval_record r;
	const char *rec, *why;

	if (dmarceval_pick(txt, nrec, &rec) != 1)
		return;
	if (dmarceval_parse(rec, "example.test", &r, &why) == 1) {
		FUZZ_ASSERT(r.p <= DP_REJECT && r.sp <= DP_REJECT);
		FUZZ_ASSERT(r.pct >= 0 && r.pct <= 100);
	} else {
		FUZZ_ASSERT(why != NULL);
	}
}

/* check_domains - the organizational domain and alignment of a domain */
static void
check_domains(const char *d)
{
	char	org[256];

	dmarceval_orgdomain(psl, d, org, sizeof(org));
	FUZZ_ASSERT(strlen(org) < sizeof(org));
	if (*org && strlen(d) < 254) {
		FUZZ_ASSERT(dmarceval_aligned(psl, d, d, 0));
		FUZZ_ASSERT(dmarceval_aligned(psl, d, d, 1));
	}
	(void) dmarceval_aligned(psl, d, "example.test", 0);
	(void) dmarceval_aligned(psl, "mail.example.test", d, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char   *buf, err[256];

	if (psl == NULL && dmarceval_psl_load(getenv("MW_PSL") ? getenv("MW_PSL") :
		"/usr/share/publicsuffix/public_suffix_list.dat", &psl, err, sizeof(err)) < 0)
		FUZZ_ASSERT(!"no public suffix list (set MW_PSL)");
	/* Terminated twice: the last record, and the list (dns_txt's form). */
	if ((buf = malloc(size + 2)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = 0;
	check_record(buf, records(buf, size + 1));
	check_domains(buf);
	free(buf);
	return 0;
}
