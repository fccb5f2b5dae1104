/*
 * NAME
 *	authres.c - build and read Authentication-Results headers
 * SYNOPSIS
 *	#include "authres.h"
 *
 *	void	authres_begin(ar, authserv_id)
 *	void	authres_result(ar, method, result, comment)
 *	void	authres_prop(ar, ptype_prop, value)
 *	void	authres_prop_addr(ar, ptype_prop, address)
 *	const char *authres_finish(ar)
 *	void	authres_free(ar)
 *
 *	void	authres_put(ar, text)
 *	void	authres_put_value(ar, value)
 *	const char *authres_text(ar)
 *
 *	int	authres_authserv_id(value, out, outlen)
 *	int	authres_is_ours(value, authserv_id)
 * DESCRIPTION
 *	authres_begin() starts a header value with the authserv-id;
 *	authres_result() adds "method=result (comment)" on a new folded line;
 *	authres_prop() adds " ptype.property=value" to it, as a token when the
 *	value is one and as a quoted string otherwise (RFC 8601 section 2.2,
 *	RFC 2045 token). authres_prop_addr() writes an address as
 *	local@domain when both parts are plain, as the domain alone when only
 *	it is, and quoted otherwise. Untrusted text is bounded by the callers
 *	and cleaned here: controls and 8-bit bytes become '?'. A comment is
 *	our own text; parentheses and backslashes in it are dropped.
 *
 *	authres_finish() returns the value ("id; none" when no result was
 *	added), or NULL after a memory failure or past AUTHRES_MAX bytes.
 *
 *	authres_put(), authres_put_value() and authres_text() use the same
 *	bounded buffer for other headers of this kind (Received-SPF, whose
 *	values are dot-atoms or quoted strings): start with memset(ar, 0).
 *
 *	authres_authserv_id() reads the authserv-id of a header value (past
 *	comments; a quoted string unquoted) into out: 0, or -1 when there is
 *	none or it does not fit. authres_is_ours() compares it, ignoring case.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "addr.h"

#define TSPECIALS "()<>@,;:\\\"/[]?="

/* grow - room for n more bytes and a NUL; 0 or -1 (sets error) */
static int
grow(struct authres *ar, size_t n)
{
	size_t	want = ar->len + n + 1, size = ar->size ? ar->size : 512;
	char   *p;

	if (ar->error || want > AUTHRES_MAX) {
		ar->error = 1;
		return -1;
	}
	if (want <= ar->size)
		return 0;
	while (size < want)
		size *= 2;
	if ((p = realloc(ar->buf, size)) == NULL) {
		ar->error = 1;
		return -1;
	}
	ar->buf = p;
	ar->size = size;
	return 0;
}

/* put - append n bytes */
static void
put(struct authres *ar, const char *s, size_t n)
{
	if (grow(ar, n) < 0)
		return;
	memcpy(ar->buf + ar->len, s, n);
	ar->len += n;
	ar->buf[ar->len] = 0;
}

/* put_str - append a string */
static void
put_str(struct authres *ar, const char *s)
{
	put(ar, s, strlen(s));
}

/* put_quoted - append a quoted string, escaping and cleaning */
static void
put_quoted(struct authres *ar, const char *s)
{
	char	c;

	put(ar, "\"", 1);
	for (; *s; s++) {
		c = (*s >= 32 && *s < 127) ? *s : '?';
		if (c == '"' || c == '\\')
			put(ar, "\\", 1);
		put(ar, &c, 1);
	}
	put(ar, "\"", 1);
}

/* is_token - a non-empty RFC 2045 token */
static int
is_token(const char *s)
{
	if (*s == 0)
		return 0;
	for (; *s; s++)
		if (*s <= 32 || *s >= 127 || strchr(TSPECIALS, *s))
			return 0;
	return 1;
}

/* authres_begin - start a header value */
void
authres_begin(struct authres *ar, const char *authserv_id)
{
	memset(ar, 0, sizeof(*ar));
	if (is_token(authserv_id))
		put_str(ar, authserv_id);
	else
		put_quoted(ar, authserv_id);
}

/* authres_result - one "method=result (comment)" on its own line */
void
authres_result(struct authres *ar, const char *method, const char *result,
	       const char *comment)
{
	put_str(ar, ";\n\t");
	put_str(ar, method);
	put(ar, "=", 1);
	put_str(ar, result);
	if (comment && *comment) {
		put_str(ar, " (");
		for (; *comment; comment++)
			if (*comment >= 32 && *comment < 127 && !strchr("()\\", *comment))
				put(ar, comment, 1);
		put(ar, ")", 1);
	}
	ar->nresults++;
}

/* authres_prop - " ptype.property=value", quoted when not a token */
void
authres_prop(struct authres *ar, const char *ptype_prop, const char *value)
{
	put(ar, " ", 1);
	put_str(ar, ptype_prop);
	put(ar, "=", 1);
	if (is_token(value))
		put_str(ar, value);
	else
		put_quoted(ar, value);
}

/* plain_local - a dot-atom local part of token characters */
static int
plain_local(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char) s[i]) && !strchr(".!#$%&'*+-^_`{|}~", s[i]))
			return 0;
	return 1;
}

/* authres_prop_addr - an address: local@domain, domain, or quoted */
void
authres_prop_addr(struct authres *ar, const char *ptype_prop, const char *address)
{
	const char *at = strrchr(address, '@');
	const char *dom = at ? at + 1 : address;

	if (!addr_domain_ok(dom)) {
		authres_prop(ar, ptype_prop, address);
		return;
	}
	put(ar, " ", 1);
	put_str(ar, ptype_prop);
	put(ar, "=", 1);
	if (at && plain_local(address, (size_t) (at - address)))
		put_str(ar, address);
	else
		put_str(ar, dom);
}

/* authres_put - append our own text */
void
authres_put(struct authres *ar, const char *text)
{
	put_str(ar, text);
}

/* authres_put_value - append a value: a token, or a quoted string */
void
authres_put_value(struct authres *ar, const char *value)
{
	if (is_token(value) && *value != '.' && value[strlen(value) - 1] != '.')
		put_str(ar, value);
	else
		put_quoted(ar, value);
}

/* authres_text - the text built so far, or NULL after an error */
const char *
authres_text(struct authres *ar)
{
	return ar->error || ar->buf == NULL ? NULL : ar->buf;
}

/* authres_finish - the value, or NULL after an error */
const char *
authres_finish(struct authres *ar)
{
	if (ar->nresults == 0)
		put_str(ar, "; none");
	return ar->error ? NULL : ar->buf;
}

/* authres_free - release the buffer; safe to call twice */
void
authres_free(struct authres *ar)
{
	free(ar->buf);
	ar->buf = NULL;
	ar->len = ar->size = 0;
}

/* skip_cfws - past white space and (nested) comments */
static const char *
skip_cfws(const char *p)
{
	int	depth;

	for (;;) {
		p += strspn(p, " \t\r\n");
		if (*p != '(')
			return p;
		for (depth = 0; *p; p++) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
		if (depth > 0)
			return p;	/* unterminated: at the end */
	}
}

/* read_quoted - a quoted string's content into out; -1 if too long */
static int
read_quoted(const char *p, char *out, size_t outlen)
{
	size_t	n = 0;

	for (p++; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (n + 1 >= outlen)
			return -1;
		out[n++] = *p;
	}
	out[n] = 0;
	return *p == '"' && n > 0 ? 0 : -1;
}

/* authres_authserv_id - the authserv-id of a header value */
int
authres_authserv_id(const char *value, char *out, size_t outlen)
{
	const char *p = skip_cfws(value);
	size_t	n;

	if (*p == '"')
		return read_quoted(p, out, outlen);
	n = strcspn(p, " \t\r\n;(\"");
	if (n == 0 || n >= outlen)
		return -1;
	memcpy(out, p, n);
	out[n] = 0;
	return 0;
}

/* host_len - length of a host name without one final dot ("mx.example.com.") */
static size_t
host_len(const char *s)
{
	size_t	n = strlen(s);

	return n > 1 && s[n - 1] == '.' ? n - 1 : n;
}

/*
 * authres_is_ours - the header claims our authserv-id. A final dot on
 * either side names the same host: the configured authserv_id may have
 * one too, and a forgery must not slip through by adding or leaving it.
 */
int
authres_is_ours(const char *value, const char *authserv_id)
{
	char	id[256];
	size_t	n;

	if (authres_authserv_id(value, id, sizeof(id)) < 0)
		return 0;
	n = host_len(id);
	return n == host_len(authserv_id) && strncasecmp(id, authserv_id, n) == 0;
}
