/*
 * fuzz_tags - libFuzzer target: DKIM tag=value lists (tags.c).
 *
 * Input: one byte choosing the tag and the output size, then the tag
 * list (a DKIM-Signature value or a key record). Checks beside the
 * sanitizers: a value found fits its buffer and holds no white space
 * and no ';'.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tags.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = {"v", "p", "k", "d", "s", "bh", "b", "h",
	"i", "x", "t", "a", "c", "l", "q", "z", "", "ver"};
	static const size_t outlens[] = {1, 2, 8, 64, 256, 2048, 8192, 65536};
	const char *tag;
	char   *s, *out;
	size_t	outlen, n;

	if (size < 1)
		return 0;
	tag = tags[(data[0] & 0x1f) % (sizeof(tags) / sizeof(tags[0]))];
	outlen = outlens[data[0] >> 5];
	if ((s = fuzz_cstring(data + 1, size - 1)) == NULL || (out = malloc(outlen)) == NULL) {
		free(s);
		return 0;
	}
	if (tags_get(s, tag, out, outlen) == 0) {
		n = strnlen(out, outlen);
		FUZZ_ASSERT(n < outlen);
		FUZZ_ASSERT(strpbrk(out, " \t\r\n;") == NULL);
	}
	free(out);
	free(s);
	return 0;
}
