/*
 * NAME
 *	json.c - a growable buffer and JSON string escaping
 * DESCRIPTION
 *	The journal's envelope records are JSON. Their strings come from the
 *	SMTP client (addresses, HELO, queue IDs as the MTA passes them on)
 *	and may hold any byte. json_string() escapes '"', '\\', every byte
 *	below 0x20 and DEL; it keeps well-formed UTF-8 (RFC 3629: no overlong
 *	forms, no surrogates, nothing above U+10FFFF) and writes every other
 *	byte 0xXY as the lone surrogate \udcXY, as Python's surrogateescape
 *	does, so the output is valid JSON text and loses nothing.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* json_init - an empty buffer */
void
json_init(struct json_buf *b)
{
	memset(b, 0, sizeof(*b));
}

/* json_free - release a buffer; safe to call twice */
void
json_free(struct json_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* json_grow - room for n more bytes and a NUL; 0 or -1 (oom set) */
static int
json_grow(struct json_buf *b, size_t n)
{
	size_t	cap;
	char   *p;

	if (b->oom)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1) {
		if (cap > ((size_t) -1) / 2)
			goto fail;
		cap *= 2;
	}
	if ((p = realloc(b->p, cap)) == NULL)
		goto fail;
	b->p = p;
	b->cap = cap;
	return 0;
fail:
	b->oom = 1;
	return -1;
}

/* json_put - append n raw bytes */
void
json_put(struct json_buf *b, const char *s, size_t n)
{
	if (json_grow(b, n) < 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

/* json_puts - append a C string, raw */
void
json_puts(struct json_buf *b, const char *s)
{
	json_put(b, s, strlen(s));
}

/* json_printf - append formatted text, raw (for numbers and fixed words) */
void
json_printf(struct json_buf *b, const char *fmt, ...)
{
	char	tmp[256];
	va_list ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= sizeof(tmp)) {
		b->oom = 1;			/* callers format short values only */
		return;
	}
	json_put(b, tmp, (size_t) n);
}

/* json_utf8_len - length of the well-formed UTF-8 sequence at p, or 0 */
size_t
json_utf8_len(const unsigned char *p, size_t n)
{
	size_t	len, i;
	unsigned lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* RFC 3629 table: the second byte's range depends on the first. */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* json_escape_byte - the escape of one ASCII byte, or NULL if none needed */
static const char *
json_escape_byte(unsigned char c, char *tmp, size_t len)
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	}
	if (c < 0x20 || c == 0x7f) {
		snprintf(tmp, len, "\\u%04x", c);
		return tmp;
	}
	return NULL;
}

/* json_string - append s[0..n) as a quoted, escaped JSON string */
void
json_string(struct json_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *) s;
	const char *esc;
	char	tmp[8];
	size_t	i, k;

	json_put(b, "\"", 1);
	for (i = 0; i < n; i += k) {
		if ((k = json_utf8_len(p + i, n - i)) == 0) {
			snprintf(tmp, sizeof(tmp), "\\udc%02x", p[i]);
			json_put(b, tmp, 6);
			k = 1;
		} else if (k == 1 && (esc = json_escape_byte(p[i], tmp, sizeof(tmp))) != NULL) {
			json_puts(b, esc);
		} else {
			json_put(b, s + i, k);
		}
	}
	json_put(b, "\"", 1);
}

/* json_cstring - a C string as a JSON string; NULL becomes null */
void
json_cstring(struct json_buf *b, const char *s)
{
	if (s == NULL)
		json_puts(b, "null");
	else
		json_string(b, s, strlen(s));
}
