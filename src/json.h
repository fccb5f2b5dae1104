/*
 * NAME
 *	json.h - a growable buffer and JSON string escaping
 * SYNOPSIS
 *	#include "json.h"
 * DESCRIPTION
 *	json_string() writes any byte string as a JSON string: quote,
 *	backslash and control bytes escaped, valid UTF-8 kept as it is, and
 *	each byte that is not part of valid UTF-8 written as \udc80..\udcff
 *	(the "surrogateescape" convention of PEP 383), so the original bytes
 *	can be recovered exactly and nothing is silently replaced.
 *
 *	A buffer that failed to grow stays failed (oom set); the caller
 *	checks once at the end.
 */
#ifndef MW_JSON_H
#define MW_JSON_H

#include <stddef.h>

struct json_buf {
	char   *p;
	size_t	len, cap;
	int	oom;			/* an allocation failed */
};

void	json_init(struct json_buf *);
void	json_free(struct json_buf *);
void	json_put(struct json_buf *, const char *, size_t);
void	json_puts(struct json_buf *, const char *);
void	json_printf(struct json_buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	json_string(struct json_buf *, const char *, size_t);
void	json_cstring(struct json_buf *, const char *);
size_t	json_utf8_len(const unsigned char *, size_t);

#endif
