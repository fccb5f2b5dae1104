/*
 * fuzz.h - helpers shared by the libFuzzer targets of tests/fuzz.
 *
 * FUZZ_ASSERT aborts (a finding, with the input saved by libFuzzer)
 * when a property the code promises does not hold; fuzz_cstring gives
 * the input as the NUL-terminated string a milter callback would see.
 */
#ifndef MW_FUZZ_H
#define MW_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_ASSERT(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* fuzz_cstring - data up to its first NUL as a malloc'd C string */
static inline char *
fuzz_cstring(const uint8_t *data, size_t size)
{
	char   *s = malloc(size + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

#endif
