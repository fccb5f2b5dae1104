/*
 * NAME
 *	addr.c - the domains of a From header; domain name checks
 * SYNOPSIS
 *	#include "addr.h"
 *
 *	int	addr_parse_from(value, out, err, errlen)
 *
 *	int	addr_domain_ascii(in, len, out, outlen)
 *	int	addr_domain_ok(domain)
 *	int	addr_sender_domain(sender, out, outlen)
 *	int	addr_is_subdomain(domain, parent)
 * DESCRIPTION
 *	addr_parse_from() parses one From field body as an RFC 5322
 *	mailbox-list (groups tolerated, obsolete routes and empty list
 *	elements too) with a small tokenizer: CFWS (nested comments, quoted
 *	pairs) is skipped, quoted strings, domain literals and RFC 2047
 *	encoded words are single tokens. It returns 0 and the distinct
 *	domains, or -1 and a reason in err when the field is not a clean
 *	list of addresses: an unterminated comment, quote or angle address
 *	("example.net(.example.com" is one), a display name without an
 *	address, two addresses without a comma, an address literal, a
 *	domain that is not a host name, more than ADDR_MAX_MAILBOXES
 *	mailboxes, or no mailbox at all.
 *
 *	addr_domain_ascii() turns a domain (UTF-8 U-labels allowed, one
 *	trailing dot tolerated) into a lower-case A-label host name; -1 when
 *	it is not one. addr_domain_ok() checks LDH syntax. addr_sender_domain()
 *	is the domain of an envelope address. addr_is_subdomain() says whether
 *	a domain is parent or under it.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>

#include "addr.h"

#define MAX_COMMENT_DEPTH 32

enum tok_type {
	T_END, T_ATOM, T_QSTR, T_DLIT, T_SPECIAL, T_ERR,
};

struct tok {
	enum tok_type type;
	const char *start;
	size_t	len;
	int	ch;			/* T_SPECIAL: the character */
};

struct lex {
	const char *p;
	const char *why;		/* T_ERR: the reason */
};

/* is_atext - RFC 5322 atext, plus UTF-8 bytes (RFC 6532) */
static int
is_atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* skip_comment - past one (nested) comment; -1 when unterminated */
static int
skip_comment(struct lex *l)
{
	int	depth = 0;

	for (; *l->p; l->p++) {
		if (*l->p == '\\' && l->p[1]) {
			l->p++;
		} else if (*l->p == '(') {
			if (++depth > MAX_COMMENT_DEPTH) {
				l->why = "comments nested too deep";
				return -1;
			}
		} else if (*l->p == ')' && --depth == 0) {
			l->p++;
			return 0;
		}
	}
	l->why = "unterminated comment";
	return -1;
}

/* skip_cfws - past white space and comments; -1 on a bad comment */
static int
skip_cfws(struct lex *l)
{
	for (;;) {
		l->p += strspn(l->p, " \t\r\n");
		if (*l->p != '(')
			return 0;
		if (skip_comment(l) < 0)
			return -1;
	}
}

/*
 * encoded_word_len - length of an RFC 2047 encoded word at p, or 0. Its
 * text may hold a comma (some mailers do not encode it), never a
 * character that could start or end an address.
 */
static size_t
encoded_word_len(const char *p)
{
	const char *q;
	int	marks = 0;

	if (p[0] != '=' || p[1] != '?')
		return 0;
	for (q = p + 2; is_atext((unsigned char) *q) || *q == '.' || *q == ','; q++) {
		if (*q == '?' && q[1] == '=' && marks == 2)
			return (size_t) (q + 2 - p);
		if (*q == '?')
			marks++;
	}
	return 0;
}

/* scan_quoted - a quoted string or domain literal ending at close */
static void
scan_quoted(struct lex *l, struct tok *t, enum tok_type type, char close)
{
	const char *p = l->p + 1;

	for (; *p && *p != close; p++)
		if (*p == '\\' && p[1])
			p++;
	if (*p == 0) {
		t->type = T_ERR;
		l->why = type == T_QSTR ? "unterminated quoted string"
		    : "unterminated domain literal";
		return;
	}
	t->type = type;
	t->start = l->p;
	t->len = (size_t) (p + 1 - l->p);
	l->p = p + 1;
}

/* scan_atom - a run of atext and dots, encoded words taken whole */
static void
scan_atom(struct lex *l, struct tok *t)
{
	size_t	ew;

	t->type = T_ATOM;
	t->start = l->p;
	while (is_atext((unsigned char) *l->p) || *l->p == '.') {
		if ((ew = encoded_word_len(l->p)) > 0)
			l->p += ew;
		else
			l->p++;
	}
	t->len = (size_t) (l->p - t->start);
}

/* lex_next - the next token past CFWS */
static void
lex_next(struct lex *l, struct tok *t)
{
	unsigned char c;

	memset(t, 0, sizeof(*t));
	if (skip_cfws(l) < 0) {
		t->type = T_ERR;
		return;
	}
	c = (unsigned char) *l->p;
	if (c == 0)
		t->type = T_END;
	else if (c == '"')
		scan_quoted(l, t, T_QSTR, '"');
	else if (c == '[')
		scan_quoted(l, t, T_DLIT, ']');
	else if (strchr("<>@,;:", c)) {
		t->type = T_SPECIAL;
		t->ch = c;
		l->p++;
	} else if (is_atext(c) || c == '.')
		scan_atom(l, t);
	else {
		t->type = T_ERR;
		l->why = "unexpected character";
	}
}

/* is_special - token is the special character c */
static int
is_special(const struct tok *t, int c)
{
	return t->type == T_SPECIAL && t->ch == c;
}

/* addr_domain_ok - LDH labels of 1..63, at most 253 bytes */
int
addr_domain_ok(const char *d)
{
	size_t	label = 0, total = strlen(d);
	const char *p;

	if (total == 0 || total > 253)
		return 0;
	for (p = d; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
		} else if (isalnum((unsigned char) *p) || (*p == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && p[-1] != '-';
}

/* to_alabel - U-labels to A-labels with libidn2; -1 if not a domain */
static int
to_alabel(const char *in, char *out, size_t outlen)
{
	char   *ascii = NULL;
	int	rc;

	rc = idn2_to_ascii_8z(in, &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (rc != IDN2_OK || strlen(ascii) >= outlen) {
		free(ascii);
		return -1;
	}
	strcpy(out, ascii);
	free(ascii);
	return 0;
}

/* addr_domain_ascii - a domain as a lower-case A-label host name */
int
addr_domain_ascii(const char *in, size_t len, char *out, size_t outlen)
{
	char	buf[4 * ADDR_DOMAIN_LEN];
	size_t	i;
	int	utf8 = 0;

	if (len > 0 && in[len - 1] == '.')
		len--;			/* "example.com." is example.com */
	if (len == 0 || len >= sizeof(buf) || outlen == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (in[i] == 0)
			return -1;
		utf8 |= (unsigned char) in[i] >= 0x80;
		buf[i] = (char) tolower((unsigned char) in[i]);
	}
	buf[len] = 0;
	if (utf8) {
		if (to_alabel(buf, out, outlen) < 0)
			return -1;
	} else if (len < outlen) {
		memcpy(out, buf, len + 1);
	} else {
		return -1;
	}
	for (i = 0; out[i]; i++)
		out[i] = (char) tolower((unsigned char) out[i]);
	return addr_domain_ok(out) ? 0 : -1;
}

/* add_domain - remember a mailbox's domain once; -1 when too many */
static int
add_domain(struct addr_from *out, const struct tok *t, const char **why)
{
	char	d[ADDR_DOMAIN_LEN];
	unsigned i;

	if (t->type == T_DLIT) {
		*why = "address literal instead of a domain";
		return -1;
	}
	if (t->type != T_ATOM || addr_domain_ascii(t->start, t->len, d, sizeof(d)) < 0) {
		*why = "domain is not a valid host name";
		return -1;
	}
	if (++out->nmailbox > ADDR_MAX_MAILBOXES) {
		*why = "too many addresses";
		return -1;
	}
	for (i = 0; i < out->ndomain; i++)
		if (strcmp(out->domain[i], d) == 0)
			return 0;
	strcpy(out->domain[out->ndomain++], d);
	return 0;
}

/* addr_spec_rest - "@" domain after a local part; t gets the token after */
static int
addr_spec_rest(struct lex *l, struct addr_from *out, struct tok *t)
{
	lex_next(l, t);
	if (t->type == T_ERR)
		return -1;
	if (!is_special(t, '@')) {
		l->why = "address without @domain";
		return -1;
	}
	lex_next(l, t);
	if (t->type == T_ERR || add_domain(out, t, &l->why) < 0)
		return -1;
	lex_next(l, t);
	return t->type == T_ERR ? -1 : 0;
}

/* skip_route - obsolete "@a,@b:" source route in an angle address */
static int
skip_route(struct lex *l, struct tok *t)
{
	while (is_special(t, '@') || is_special(t, ',')) {
		if (is_special(t, '@')) {
			lex_next(l, t);
			if (t->type != T_ATOM) {
				l->why = "bad source route";
				return -1;
			}
		}
		lex_next(l, t);
	}
	if (!is_special(t, ':')) {
		l->why = "bad source route";
		return -1;
	}
	lex_next(l, t);
	return 0;
}

/* angle_addr - the rest of "<" [route] local "@" domain ">" */
static int
angle_addr(struct lex *l, struct addr_from *out, struct tok *t)
{
	lex_next(l, t);
	if (is_special(t, '@') && skip_route(l, t) < 0)
		return -1;
	if (t->type == T_ERR)
		return -1;
	if (t->type != T_ATOM && t->type != T_QSTR) {
		l->why = is_special(t, '>') ? "empty address <>" : "no address in <>";
		return -1;
	}
	if (addr_spec_rest(l, out, t) < 0)
		return -1;
	if (!is_special(t, '>')) {
		l->why = "unterminated address";
		return -1;
	}
	lex_next(l, t);
	return t->type == T_ERR ? -1 : 0;
}

/* mailbox - one list element: phrase, then "@", "<", ":", "," or ";" */
static int
mailbox(struct lex *l, struct addr_from *out, struct tok *t, int *group)
{
	unsigned words = 0;
	struct lex save = *l;

	while (t->type == T_ATOM || t->type == T_QSTR) {
		words++;
		save = *l;
		lex_next(l, t);
	}
	if (t->type == T_ERR)
		return -1;
	if (is_special(t, '@')) {
		if (words != 1) {
			l->why = words ? "words before an address" : "address without local part";
			return -1;
		}
		*l = save;		/* re-read from the '@' */
		return addr_spec_rest(l, out, t);
	}
	if (is_special(t, '<'))
		return angle_addr(l, out, t);
	if (is_special(t, ':') && words > 0 && !*group) {
		*group = 1;
		lex_next(l, t);
		return 1;		/* a group begins: no mailbox yet */
	}
	if (words > 0 || t->type != T_SPECIAL || !strchr(",;", t->ch)) {
		l->why = words ? "display name without an address" : "unexpected character";
		return t->type == T_END && words == 0 ? 1 : -1;
	}
	return 1;			/* empty list element */
}

/* separator - after a mailbox: "," , ";" closing a group, or the end */
static int
separator(struct lex *l, struct tok *t, int *group)
{
	if (is_special(t, ';') && *group) {
		*group = 0;
		lex_next(l, t);
		if (t->type == T_END)
			return 1;
	}
	if (is_special(t, ',')) {
		lex_next(l, t);
		return 0;
	}
	if (t->type == T_END)
		return 1;
	if (t->type != T_ERR)
		l->why = is_special(t, ';') ? "';' outside a group"
		    : "junk after an address (two addresses without a comma?)";
	return -1;
}

/* addr_parse_from - the distinct domains of one From field body */
int
addr_parse_from(const char *value, struct addr_from *out, char *err, size_t errlen)
{
	struct lex l = {value, "syntax error"};
	struct tok t;
	int	group = 0, rc;

	memset(out, 0, sizeof(*out));
	lex_next(&l, &t);
	while (t.type != T_END) {
		if ((rc = mailbox(&l, out, &t, &group)) < 0)
			goto bad;
		if (rc == 1 && !is_special(&t, ',') && !is_special(&t, ';'))
			continue;	/* group start, or the end */
		if (separator(&l, &t, &group) < 0)
			goto bad;
	}
	if (out->ndomain > 0)
		return 0;
	l.why = "no address";
bad:
	snprintf(err, errlen, "%s", l.why);
	return -1;
}

/* addr_sender_domain - the domain of an envelope address, as an A-label */
int
addr_sender_domain(const char *sender, char *out, size_t outlen)
{
	const char *at = strrchr(sender, '@');

	if (at == NULL || at == sender)
		return -1;
	return addr_domain_ascii(at + 1, strlen(at + 1), out, outlen);
}

/* addr_is_subdomain - domain equals parent or ends in "." parent */
int
addr_is_subdomain(const char *domain, const char *parent)
{
	size_t	dl = strlen(domain), pl = strlen(parent);

	if (dl == pl)
		return strcasecmp(domain, parent) == 0;
	return dl > pl && domain[dl - pl - 1] == '.'
	    && strcasecmp(domain + dl - pl, parent) == 0;
}
