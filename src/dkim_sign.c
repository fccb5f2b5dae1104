/*
 * NAME
 *	dkim_sign.c - the stage that DKIM-signs outbound mail
 * DESCRIPTION
 *	At end of headers the stage decides whether and with which keys to
 *	sign, and notes on the message's log line why not when it does not:
 *	inbound mail, signing switched off, no From, several From headers or
 *	addresses, a From it cannot read, a From domain without a key, a
 *	message that already carries our signature. The signing domain is the
 *	From domain (DMARC aligns on it), as found by addr_parse_from(), the
 *	parser DMARC uses too.
 *
 *	It then starts one libopendkim signing handle per key (an RSA and an
 *	Ed25519 key: two signatures, RFC 8463) and gives them the headers the
 *	core kept, each written as the MTA writes it: "Name:" and the value as
 *	sent, with the space the MTA took off when it did not negotiate
 *	SMFIP_HDR_LEADSPC, bare LF made CRLF. Body chunks go to the handles
 *	as they arrive (bare LF made CRLF, as the MTA transmits it); nothing
 *	of the body is kept. At end of message each handle's DKIM-Signature
 *	is inserted at the top of the header.
 *
 *	A libopendkim refusal of the message's own content is a note and the
 *	message passes unsigned; an internal failure (memory, signing) is -1,
 *	so the configured on_error answer applies.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "addr.h"
#include "config.h"
#include "keycache.h"
#include "sign.h"
#include "signmem.h"
#include "tags.h"

#define SIGN_HEADER	"DKIM-Signature"
#define SIGN_MAX_TAG	256		/* d= and s= values of existing signatures */
#define SIGN_MAX_LINE	998		/* RFC 5322 2.1.1; MTAs may fold longer lines */

struct sign_job {
	DKIM   *dkim;
	struct signmem mem;		/* the handle's memory (signmem.h) */
	EVP_PKEY *lent;			/* the key keycache gave libopendkim */
	const struct keys_key *key;
	char	domain[ADDR_DOMAIN_LEN];	/* d= */
};

struct sign_msg {
	struct sign_job job[SIGNTAB_MAX_KEYS];
	unsigned njob;
	int	fallback;		/* signed with the fallback domain's keys */
	char	from[ADDR_DOMAIN_LEN];	/* the From domain */
	unsigned char last;		/* last body byte given to libopendkim */
	size_t	linelen;		/* bytes of the body line so far */
	int	longline;		/* a body line was over SIGN_MAX_LINE */
	unsigned char *buf;		/* header line, or a body chunk with CRLF */
	size_t	buflen;
};

/* sign_grow - a scratch buffer of at least need bytes; -1 when out of memory */
static int
sign_grow(struct sign_msg *s, size_t need)
{
	unsigned char *p;

	if (need <= s->buflen)
		return 0;
	if ((p = realloc(s->buf, need)) == NULL)
		return -1;
	s->buf = p;
	s->buflen = need;
	return 0;
}

/* sign_msg_end - free the message's handles; safe to call twice */
static void
sign_msg_end(struct mw_msg *m)
{
	struct sign_msg *s = m->stage[MW_STAGE_SIGN];
	unsigned i;

	if (s == NULL)
		return;
	for (i = 0; i < s->njob; i++) {
		struct sign_job *j = &s->job[i];

		if (j->dkim)		/* dkim_free(NULL) asserts */
			dkim_free(j->dkim);
		/*
		 * libopendkim 2.11 frees a signature's key material only for
		 * RSA. When dkim_free left blocks behind, it skipped that
		 * cleanup, so the reference to the key keycache lent it is
		 * given back here; a fixed libopendkim leaves nothing and frees
		 * the reference itself.
		 */
		if (signmem_sweep(&j->mem) > 0 && j->lent)
			EVP_PKEY_free(j->lent);
	}
	free(s->buf);
	free(s);
	m->stage[MW_STAGE_SIGN] = NULL;
}

/* sign_from - the one From domain; 0, or -1 with the reason noted */
static int
sign_from(struct mw_msg *m, char *domain, size_t len)
{
	const char *v = msg_header(m, "From", 0);
	struct addr_from af;
	char	err[128];
	unsigned n = 0;

	while (msg_header(m, "From", (int) n) != NULL)
		n++;
	if (n != 1) {
		msg_note(m, n ? "dkim-sign=skip (%u From headers)" : "dkim-sign=skip (no From)", n);
		return -1;
	}
	if (addr_parse_from(v, &af, err, sizeof(err)) < 0) {
		msg_note(m, "dkim-sign=skip (From unreadable: %s)", err);
		return -1;
	}
	if (af.nmailbox != 1) {
		msg_note(m, "dkim-sign=skip (From has %u addresses)", af.nmailbox);
		return -1;
	}
	snprintf(domain, len, "%s", af.domain[0]);
	return 0;
}

/* sign_is_ours - does a DKIM-Signature value carry one of our d=/s= pairs? */
static const struct sign_job *
sign_is_ours(const struct sign_msg *s, const char *value)
{
	char	d[SIGN_MAX_TAG], sel[SIGN_MAX_TAG];
	unsigned i;

	if (tags_get(value, "d", d, sizeof(d)) < 0 || tags_get(value, "s", sel, sizeof(sel)) < 0)
		return NULL;
	for (i = 0; i < s->njob; i++)
		if (strcasecmp(d, s->job[i].domain) == 0
		    && strcasecmp(sel, s->job[i].key->selector) == 0)
			return &s->job[i];
	return NULL;
}

/* sign_already - the message already carries our signature: noted, 1 */
static int
sign_already(struct mw_msg *m, const struct sign_msg *s)
{
	const struct sign_job *j;
	const char *v;
	int	i;

	for (i = 0; (v = msg_header(m, SIGN_HEADER, i)) != NULL; i++)
		if ((j = sign_is_ours(s, v)) != NULL) {
			msg_note(m, "dkim-sign=skip (already signed d=%s s=%s)", j->domain,
				 j->key->selector);
			return 1;
		}
	return 0;
}

/* sign_plan - the keys for this message in *sp (NULL: not signed, noted); -1 noted */
static int
sign_plan(struct mw_msg *m, const struct sign_conf *sc, struct sign_msg **sp)
{
	const struct signtab_entry *e;
	struct sign_msg *s;
	char	from[ADDR_DOMAIN_LEN];
	unsigned i;
	int	fb;

	*sp = NULL;
	if (sign_from(m, from, sizeof(from)) < 0)
		return 0;
	if ((e = signtab_lookup(sc->tab, from, &fb)) == NULL) {
		msg_note(m, "dkim-sign=skip (no key for %s)", from);
		return 0;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		msg_note(m, "dkim-sign=error (out of memory)");
		return -1;
	}
	s->fallback = fb;
	s->last = '\n';			/* an empty body ends a line */
	snprintf(s->from, sizeof(s->from), "%s", from);
	for (i = 0; i < e->nkey; i++) {
		s->job[i].key = e->key[i];
		snprintf(s->job[i].domain, sizeof(s->job[i].domain), "%s",
			 e->key[i]->domain ? e->key[i]->domain : from);
	}
	s->njob = e->nkey;
	*sp = s;
	return 0;
}

/* sign_start - one libopendkim signing handle per key; -1 noted */
static int
sign_start(struct mw_msg *m, const struct sign_conf *sc, struct sign_msg *s)
{
	DKIM_STAT st;
	unsigned i;

	for (i = 0; i < s->njob; i++) {
		struct sign_job *j = &s->job[i];

		j->dkim = dkim_sign(sc->lib, (unsigned char *) m->qid, &j->mem,
				    (dkim_sigkey_t) j->key->pem,
				    (unsigned char *) j->key->selector,
				    (unsigned char *) j->domain, sc->hcanon, sc->bcanon,
				    j->key->type == KEYS_ED25519 ? DKIM_SIGN_ED25519SHA256
				    : DKIM_SIGN_RSASHA256, -1, &st);
		if (j->dkim == NULL) {
			msg_note(m, "dkim-sign=error (dkim_sign s=%s: %s)", j->key->selector,
				 dkim_getresultstr(st));
			return -1;
		}
		/*
		 * libopendkim 2.11 folds the header it hashes (b= empty) and
		 * the one it returns (b= filled) alike only for RSA; for
		 * Ed25519 "b=" moves to a new line, which breaks simple header
		 * canonicalization. Unfolded, both are the same.
		 */
		if (j->key->type == KEYS_ED25519 && sc->hcanon == DKIM_CANON_SIMPLE
		    && dkim_set_margin(j->dkim, 0) != DKIM_STAT_OK) {
			msg_note(m, "dkim-sign=error (dkim_set_margin)");
			return -1;
		}
	}
	return 0;
}

/* sign_line - "Name:" value as the MTA writes it, bare LF made CRLF */
static int
sign_line(struct sign_msg *s, const struct mw_hdr *h, int leadspc, size_t *len)
{
	size_t	nl = strlen(h->name), vl = strlen(h->raw), n, i;

	if (sign_grow(s, nl + 2 + 2 * vl + 1) < 0)
		return -1;
	memcpy(s->buf, h->name, nl);
	n = nl;
	s->buf[n++] = ':';
	if (!leadspc)
		s->buf[n++] = ' ';
	for (i = 0; i < vl; i++) {
		if (h->raw[i] == '\n' && (i == 0 || h->raw[i - 1] != '\r'))
			s->buf[n++] = '\r';
		s->buf[n++] = (unsigned char) h->raw[i];
	}
	s->buf[n] = 0;
	*len = n;
	return 0;
}

/* sign_stat - a libopendkim status: 0 ok, 1 refused content (noted), -1 failure */
static int
sign_stat(struct mw_msg *m, const struct sign_job *j, DKIM_STAT st, const char *what)
{
	const char *why;

	if (st == DKIM_STAT_OK)
		return 0;
	why = dkim_geterror(j->dkim) ? dkim_geterror(j->dkim) : dkim_getresultstr(st);
	if (st == DKIM_STAT_SYNTAX) {
		msg_note(m, "dkim-sign=skip (%s refused: %s)", what, why);
		return 1;
	}
	msg_note(m, "dkim-sign=error (%s: %s)", what, why);
	return -1;
}

/* sign_headers - every header, then end of headers, to every handle */
static int
sign_headers(struct mw_msg *m, struct sign_msg *s)
{
	const struct mw_hdr *h;
	size_t	len;
	unsigned i;
	int	rc;

	for (h = m->hdrs; h; h = h->next) {
		/*
		 * Existing signatures are never signed (sign_conf.c refuses the
		 * name), and libopendkim would refuse the whole message for a
		 * malformed one it parses: they are not given to it.
		 */
		if (strcasecmp(h->name, SIGN_HEADER) == 0)
			continue;
		if (sign_line(s, h, m->conn->leadspc, &len) < 0) {
			msg_note(m, "dkim-sign=error (out of memory)");
			return -1;
		}
		for (i = 0; i < s->njob; i++)
			if ((rc = sign_stat(m, &s->job[i], dkim_header(s->job[i].dkim, s->buf, len),
					    "header")) != 0)
				return rc;
	}
	for (i = 0; i < s->njob; i++)
		if ((rc = sign_stat(m, &s->job[i], dkim_eoh(s->job[i].dkim), "headers")) != 0)
			return rc;
	return 0;
}

/* sign_eoh - decide, and start signing with the message's headers */
static int
sign_eoh(struct mw_msg *m, struct mw_reply *r)
{
	const struct sign_conf *sc = m->conf->stage[MW_STAGE_SIGN];
	struct sign_msg *s;
	int	rc;

	(void) r;
	sign_msg_end(m);
	if (m->dir != MW_DIR_OUTBOUND) {
		msg_note(m, "dkim-sign=skip (inbound)");
		return 0;
	}
	if (sc == NULL) {
		msg_note(m, "dkim-sign=skip (signing = no)");
		return 0;
	}
	if (sign_plan(m, sc, &s) < 0)
		return -1;
	if (s == NULL)
		return 0;
	m->stage[MW_STAGE_SIGN] = s;
	if (sign_already(m, s)) {
		sign_msg_end(m);
		return 0;
	}
	if ((rc = sign_start(m, sc, s)) == 0 && (rc = sign_headers(m, s)) > 0) {
		sign_msg_end(m);	/* libopendkim refused the headers: noted */
		return 0;
	}
	return rc;
}

/* sign_crlf - a body chunk with every bare LF made CRLF; NULL when out of memory */
static const unsigned char *
sign_crlf(struct sign_msg *s, const unsigned char *p, size_t len, size_t *outlen)
{
	size_t	i, n = 0;
	unsigned char prev = s->last;

	for (i = 0; i < len && (p[i] != '\n' || (i ? p[i - 1] : prev) == '\r'); i++)
		;
	*outlen = len;
	if (i == len)
		return p;		/* the usual case: nothing to change */
	if (sign_grow(s, 2 * len) < 0)
		return NULL;
	for (i = 0; i < len; prev = p[i++]) {
		if (p[i] == '\n' && prev != '\r')
			s->buf[n++] = '\r';
		s->buf[n++] = p[i];
	}
	*outlen = n;
	return s->buf;
}

/* sign_feed - body bytes to every handle; -1 noted */
static int
sign_feed(struct mw_msg *m, struct sign_msg *s, const unsigned char *p, size_t len)
{
	unsigned i;

	for (i = 0; i < s->njob; i++)
		if (sign_stat(m, &s->job[i], dkim_body(s->job[i].dkim, (unsigned char *) p, len),
			      "body") != 0)
			return -1;
	if (len)
		s->last = p[len - 1];
	return 0;
}

/* sign_lines - note a body line longer than SIGN_MAX_LINE (CRLF excluded) */
static void
sign_lines(struct sign_msg *s, const unsigned char *p, size_t len)
{
	const unsigned char *nl, *end = p + len;

	for (; !s->longline && p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t) (end - p))) == NULL) {
			s->linelen += (size_t) (end - p);
			break;
		}
		s->linelen += (size_t) (nl - p);
		s->longline = s->linelen > SIGN_MAX_LINE + 1;	/* + its CR */
		s->linelen = 0;
	}
	s->longline |= s->linelen > SIGN_MAX_LINE + 1;
}

/* sign_body - one body chunk, hashed as it streams */
static int
sign_body(struct mw_msg *m, const unsigned char *p, size_t len, struct mw_reply *r)
{
	struct sign_msg *s = m->stage[MW_STAGE_SIGN];
	const unsigned char *q;
	size_t	n;

	(void) r;
	if (s == NULL || len == 0)
		return 0;
	if ((q = sign_crlf(s, p, len, &n)) == NULL) {
		msg_note(m, "dkim-sign=error (out of memory)");
		return -1;
	}
	sign_lines(s, q, n);
	return sign_feed(m, s, q, n);
}

/* sign_insert - compute one signature and put it on top; -1 noted */
static int
sign_insert(struct mw_msg *m, struct sign_job *j)
{
	unsigned char *hdr, *p, *q;
	size_t	len;
	DKIM_STAT st;

	(void) keycache_lent();		/* the key is loaded in dkim_eom() */
	st = dkim_eom(j->dkim, NULL);
	j->lent = keycache_lent();
	if (sign_stat(m, j, st, "signing") != 0)
		return -1;
	if (sign_stat(m, j, dkim_getsighdr_d(j->dkim, strlen(SIGN_HEADER) + 2, &hdr, &len),
		      "signature header") != 0)
		return -1;
	for (p = q = hdr; *p; p++)	/* the MTA wants "\n" folding */
		if (*p != '\r')
			*q++ = *p;
	*q = 0;
	if (msg_insheader(m, 0, SIGN_HEADER, (char *) hdr) < 0) {
		msg_note(m, "dkim-sign=error (the MTA refused the header)");
		return -1;
	}
	return 0;
}

/* sign_note_ok - "dkim-sign=ok d=D s=S1,S2" on the log line */
static void
sign_note_ok(struct mw_msg *m, const struct sign_msg *s)
{
	char	buf[512];
	size_t	n = 0;
	unsigned i;

	for (i = 0; i < s->njob && n < sizeof(buf); i++) {
		const struct sign_job *j = &s->job[i];

		if (i && strcmp(j->domain, s->job[i - 1].domain) == 0)
			n += (size_t) snprintf(buf + n, sizeof(buf) - n, ",%s", j->key->selector);
		else
			n += (size_t) snprintf(buf + n, sizeof(buf) - n, "%sd=%s s=%s",
					       i ? " " : "", j->domain, j->key->selector);
	}
	msg_note(m, "dkim-sign=ok %s%s%s%s%s", buf, s->fallback ? " (fallback for " : "",
		 s->fallback ? s->from : "", s->fallback ? ")" : "", s->longline ?
		 " (a body line is over 998 bytes: an MTA that folds it breaks the signature)" : "");
}

/* sign_eom - finish every signature and add them to the message */
static int
sign_eom(struct mw_msg *m, struct mw_reply *r)
{
	struct sign_msg *s = m->stage[MW_STAGE_SIGN];
	static const unsigned char crlf[] = "\r\n";
	unsigned i;

	(void) r;
	if (s == NULL)
		return 0;
	/* A last line without its line end gets the one the MTA will send. */
	if (s->last != '\n' && sign_feed(m, s, crlf + (s->last == '\r'),
					 s->last == '\r' ? 1 : 2) < 0)
		return -1;
	for (i = 0; i < s->njob; i++)
		if (sign_insert(m, &s->job[i]) < 0)
			return -1;
	sign_note_ok(m, s);
	return 0;
}

const struct mw_stage stage_sign = {
	.name = "dkim-sign",
	.conf_load = sign_conf_load,
	.conf_free = sign_conf_free,
	.eoh = sign_eoh,
	.body = sign_body,
	.eom = sign_eom,
	.msg_end = sign_msg_end,
};
