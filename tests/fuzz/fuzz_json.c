/*
 * fuzz_json - libFuzzer target: the journal's JSON string escaper
 * (json.c).
 *
 * Input: any bytes (an envelope field as an SMTP client may send it).
 * Checks beside the sanitizers: the output is one JSON string with no
 * raw control byte, valid UTF-8 throughout, and decoding it (\uDCxx
 * giving back byte xx, as Python's surrogateescape) yields the input
 * exactly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#include "fuzz.h"

/* hex4 - four hex digits; -1 when they are not */
static long
hex4(const char *p)
{
	long	v = 0;
	int	i;

	for (i = 0; i < 4; i++) {
		char	c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else
			return -1;
	}
	return v;
}

/* unescape - one escape at p (past the backslash) into *out; its length */
static size_t
unescape(const char *p, unsigned char *out)
{
	static const char from[] = "\"\\/nrtbf", to[] = "\"\\/\n\r\t\b\f";
	const char *k;
	long	v;

	if ((k = strchr(from, *p)) != NULL && *p) {
		*out = (unsigned char) to[k - from];
		return 1;
	}
	FUZZ_ASSERT(*p == 'u');
	v = hex4(p + 1);
	FUZZ_ASSERT(v >= 0);
	/* Control bytes and DEL, or one raw byte 0x80..0xff. */
	FUZZ_ASSERT(v < 0x20 || v == 0x7f || (v >= 0xdc80 && v <= 0xdcff));
	*out = (unsigned char) (v & 0xff);
	return 5;
}

/* decode - the JSON string in b back to bytes; checks its form on the way */
static void
decode(const struct json_buf *b, const uint8_t *want, size_t n)
{
	const char *p = b->p;
	unsigned char *got = malloc(b->len + 1), c;
	size_t	len = 0, k;

	FUZZ_ASSERT(got != NULL);
	FUZZ_ASSERT(b->len >= 2 && p[0] == '"' && p[b->len - 1] == '"');
	for (p++; p < b->p + b->len - 1; p++) {
		c = (unsigned char) *p;
		FUZZ_ASSERT(c >= 0x20 && c != 0x7f && c != '"');
		if (c == '\\') {
			p += unescape(p + 1, &got[len++]);
		} else {
			k = json_utf8_len((const unsigned char *) p, (size_t) (b->p + b->len - 1 - p));
			FUZZ_ASSERT(k >= 1);
			memcpy(got + len, p, k);
			len += k;
			p += k - 1;
		}
	}
	FUZZ_ASSERT(len == n && memcmp(got, want, n) == 0);
	free(got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_buf b;

	json_init(&b);
	json_string(&b, (const char *) data, size);
	FUZZ_ASSERT(!b.oom);
	FUZZ_ASSERT(strlen(b.p) == b.len);
	decode(&b, data, size);
	json_free(&b);
	return 0;
}
