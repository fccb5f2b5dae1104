/*
 * fuzz_dkim - libFuzzer target: DKIM verification of an inbound message
 * (dkim_verify.c, and libopendkim's parsing of DKIM-Signature headers and
 * canonicalization under it).
 *
 * Input: a message, headers ("Name: value", folded lines joined with the
 * bare LF an MTA hands over) up to the first empty line, then the body.
 * DNS is out of the picture: the message's budget is spent before it
 * starts, so every key lookup is a temporary failure at once. Checks
 * beside the sanitizers: one result per DKIM-Signature header at most,
 * each a known result with bounded d= and s=.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailwarden.h"
#include "dns.h"
#include "dkim_verify.h"

#include "fuzz.h"

#define FUZZ_MAX_HEADERS 64

static struct verify_lib *vl;

/* hdr_new - one header from "Name: value"; NULL when the line has no colon */
static struct mw_hdr *
hdr_new(const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	struct mw_hdr *h;

	if (colon == NULL || (h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if ((h->name = malloc(len + 2)) == NULL) {
		free(h);
		return NULL;
	}
	memcpy(h->name, line, (size_t) (colon - line));
	h->name[colon - line] = 0;
	h->raw = h->name + (colon - line) + 1;
	memcpy(h->raw, colon + 1, len - (size_t) (colon - line) - 1);
	h->raw[len - (size_t) (colon - line) - 1] = 0;
	h->value = h->raw + strspn(h->raw, " \t\r\n");
	return h;
}

/* is_sig - a DKIM-Signature header name (blanks before the colon too) */
static int
is_sig(const char *name)
{
	return strncasecmp(name, "DKIM-Signature", 14) == 0 && name[14 + strspn(name + 14, " \t")] == 0;
}

/* headers - the header list of s (NUL-free); *body: past the empty line */
static struct mw_hdr *
headers(const char *s, const char **body, unsigned *nsig)
{
	struct mw_hdr *first = NULL, **tail = &first;
	unsigned n = 0;
	size_t	len;

	while (*s && *s != '\n' && n < FUZZ_MAX_HEADERS) {
		/* A header line and its folded continuations. */
		for (len = 0; s[len] && !(s[len] == '\n' && s[len + 1] != ' ' && s[len + 1] != '\t');)
			len++;
		if ((*tail = hdr_new(s, len)) != NULL) {
			*nsig += is_sig((*tail)->name);
			tail = &(*tail)->next;
			n++;
		}
		s += len + (s[len] == '\n');
	}
	*body = s + (*s == '\n');
	return first;
}

/* hdrs_free - the list of headers() */
static void
hdrs_free(struct mw_hdr *h)
{
	struct mw_hdr *next;

	for (; h; h = next) {
		next = h->next;
		free(h->name);
		free(h);
	}
}

/* check - verify the message, DNS budget spent */
static void
check(const struct mw_hdr *hdrs, const char *body, unsigned nsig)
{
	struct dns_budget spent;
	struct verify *v = NULL;
	char	err[256];
	unsigned i;

	dns_budget_start(&spent, -1);
	dns_budget_set(&spent);
	if (verify_start(vl, hdrs, 0, 3, "fuzz", &v, err, sizeof(err)) == 0 && v != NULL
	    && verify_body(v, (const unsigned char *) body, strlen(body), err, sizeof(err)) == 0
	    && verify_finish(v, err, sizeof(err)) == 0) {
		FUZZ_ASSERT(verify_count(v) <= nsig);
		for (i = 0; i < verify_count(v); i++) {
			const struct verify_sig *s = verify_sig(v, i);

			FUZZ_ASSERT(s->result <= VR_PERMERROR);
			FUZZ_ASSERT(strnlen(s->d, sizeof(s->d)) < sizeof(s->d));
			FUZZ_ASSERT(strnlen(s->s, sizeof(s->s)) < sizeof(s->s));
		}
	}
	verify_free(v);
	dns_budget_set(NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *const servers[] = {"127.0.0.1:9"};
	struct mw_hdr *hdrs;
	const char *body;
	unsigned nsig = 0;
	char   *s, err[256];
	struct dns_resolver *dns;

	if (vl == NULL) {
		dns = dns_new(servers, 1, 1, 0, err, sizeof(err));
		FUZZ_ASSERT(dns != NULL);
		vl = verify_lib_new(dns, err, sizeof(err));
		FUZZ_ASSERT(vl != NULL);
	}
	if ((s = fuzz_cstring(data, size)) == NULL)
		return 0;
	hdrs = headers(s, &body, &nsig);
	check(hdrs, body, nsig);
	hdrs_free(hdrs);
	free(s);
	return 0;
}
