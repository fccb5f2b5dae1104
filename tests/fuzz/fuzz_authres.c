/*
 * fuzz_authres - libFuzzer target: Authentication-Results headers
 * (authres.c): reading the authserv-id of a header found in a message
 * (which decides whether it is a forgery of ours, to be removed), and
 * building ours from untrusted values.
 *
 * Input: up to four strings separated by NUL bytes: a header value, an
 * authserv-id, and two untrusted values (an address, a HELO name...).
 * Checks beside the sanitizers: the header built holds only printable
 * ASCII and our own folding ("\n\t"); a header we build with an
 * authserv-id of host-name characters (what the configuration allows)
 * is recognized as ours, so that a copy forged from outside would be
 * removed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"

#include "fuzz.h"

/* split - up to n NUL-separated strings of data; missing ones are "" */
static void
split(char *buf, size_t size, char **s, unsigned n)
{
	unsigned i;
	char   *p = buf;

	for (i = 0; i < n; i++) {
		s[i] = p < buf + size ? p : buf + size;	/* buf[size] is the last NUL */
		p = s[i] + strlen(s[i]) + 1;
	}
}

/* hostname_like - what opt_check_hostname lets through for authserv_id */
static int
hostname_like(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > 253 || *s == '.' || *s == '-')
		return 0;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z')
		    && !(*s >= '0' && *s <= '9') && !strchr("-._", *s))
			return 0;
	return 1;
}

/* check_clean - printable ASCII, and line breaks only as "\n\t" */
static void
check_clean(const char *v)
{
	for (; *v; v++) {
		if (*v == '\n') {
			FUZZ_ASSERT(v[1] == '\t');
			continue;
		}
		FUZZ_ASSERT(*v == '\t' || (*v >= 32 && *v < 127));
	}
}

/* build - our header from untrusted values */
static void
build(char **s)
{
	struct authres ar;
	const char *v;

	authres_begin(&ar, s[1]);
	authres_result(&ar, "spf", "pass", s[2]);
	authres_prop_addr(&ar, "smtp.mailfrom", s[2]);
	authres_prop(&ar, "smtp.helo", s[3]);
	authres_result(&ar, "dmarc", "fail", "p=reject");
	authres_prop_addr(&ar, "header.from", s[0]);
	if ((v = authres_finish(&ar)) != NULL) {
		check_clean(v);
		if (hostname_like(s[1]))
			FUZZ_ASSERT(authres_is_ours(v, s[1]));
	}
	authres_free(&ar);
	memset(&ar, 0, sizeof(ar));
	authres_put(&ar, "pass (");
	authres_put_value(&ar, s[3]);
	authres_put(&ar, ") receiver=");
	authres_put_value(&ar, s[2]);
	if ((v = authres_text(&ar)) != NULL)
		check_clean(v);
	authres_free(&ar);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char   *buf = malloc(size + 1), *s[4], id[256], small[8];

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	split(buf, size, s, 4);
	if (authres_authserv_id(s[0], id, sizeof(id)) == 0)
		FUZZ_ASSERT(strlen(id) > 0 && strlen(id) < sizeof(id));
	if (authres_authserv_id(s[0], small, sizeof(small)) == 0)
		FUZZ_ASSERT(strlen(small) < sizeof(small));
	(void) authres_is_ours(s[0], s[1]);
	build(s);
	free(buf);
	return 0;
}
