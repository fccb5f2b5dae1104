/*
 * NAME
 *	dkim_verify.c - DKIM verification of inbound mail with libopendkim
 * SYNOPSIS
 *	#include "dkim_verify.h"
 *
 *	struct verify_lib *verify_lib_new(dns, err, errlen)
 *	void	verify_lib_free(vl)
 *
 *	int	verify_start(vl, hdrs, leadspc, max_sigs, id, &v, err, errlen)
 *	int	verify_body(v, buf, len, err, errlen)
 *	int	verify_finish(v, err, errlen)
 *	unsigned verify_count(v)
 *	const struct verify_sig *verify_sig(v, i)
 *	void	verify_free(v)
 *
 *	const char *verify_name(result)
 *	int	verify_tag(value, tag, out, outlen)
 * DESCRIPTION
 *	verify_lib_new() makes the DKIM_LIB of a config snapshot: keys come
 *	from the project's resolver (dns_dkim_hooks()), keys under 1024 bits
 *	are refused (RFC 8301), and key lookups wait until the end of the
 *	message, so every DNS lookup of a message happens under the budget
 *	set there. Bare LFs of MTA-folded headers become CRLF (feed_header).
 *
 *	verify_start() is called at end of headers with the headers the
 *	milter kept. A message without DKIM-Signature gets no DKIM handle at
 *	all (*out is NULL): no cost for unsigned mail. Otherwise the headers
 *	go to libopendkim, except DKIM-Signature headers past the first
 *	max_sigs: those are never given to the library, whose set-up cost
 *	grows with every signature (one body hash per distinct c=/a=/l=),
 *	and are reported as "policy". verify_body() streams body chunks;
 *	verify_finish() looks up the keys and collects one result per
 *	signature, in header order:
 *
 *	pass	  the signature and its body hash verify
 *	fail	  signature or body hash mismatch
 *	neutral	  the signature is malformed (a tag missing, empty or invalid)
 *	policy	  not acceptable here: expired, dated in the future, key under
 *		  1024 bits, rsa-sha1 (RFC 8301), or past max_signatures
 *	temperror the key lookup failed for now (timeout, SERVFAIL, budget)
 *	permerror no key, or an unusable one (revoked, malformed, wrong type)
 *
 *	All functions return 0, or -1 with err on an internal failure (out
 *	of memory, a library error); a message libopendkim cannot use (no
 *	From header, say) is not a failure: each signature is a permerror.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opendkim/dkim.h>

#include "dkim_verify.h"
#include "mailwarden.h"
#include "addr.h"
#include "dns.h"

struct verify_lib {
	DKIM_LIB *lib;
};

struct verify {
	DKIM   *dkim;			/* NULL once unusable */
	const char *unusable;		/* why libopendkim gave up */
	unsigned nfed;			/* DKIM-Signature headers given */
	unsigned nover;			/* left out: past max_sigs */
	unsigned nsig;
	struct verify_sig *sig;		/* nfed + nover results */
	const struct mw_hdr *hdrs;
	unsigned max;
};

/* verify_lib_free - release a snapshot's library; NULL is fine */
void
verify_lib_free(struct verify_lib *vl)
{
	if (vl == NULL)
		return;
	if (vl->lib)
		dkim_close(vl->lib);
	free(vl);
}

/* verify_lib_new - the DKIM_LIB of a snapshot; NULL with err */
struct verify_lib *
verify_lib_new(struct dns_resolver *dns, char *err, size_t errlen)
{
	struct verify_lib *vl;
	unsigned int flags = DKIM_LIBFLAGS_DELAYSIGPROC | DKIM_LIBFLAGS_BADSIGHANDLES;
	unsigned int minbits = 1024;

	if ((vl = calloc(1, sizeof(*vl))) == NULL
	    || (vl->lib = dkim_init(NULL, NULL)) == NULL) {
		snprintf(err, errlen, "DKIM: cannot initialize libopendkim");
		verify_lib_free(vl);
		return NULL;
	}
	if (dkim_options(vl->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) != DKIM_STAT_OK
	    || dkim_options(vl->lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &minbits,
			    sizeof(minbits)) != DKIM_STAT_OK
	    || dns_dkim_hooks(vl->lib, dns) < 0) {
		snprintf(err, errlen, "DKIM: cannot set libopendkim options");
		verify_lib_free(vl);
		return NULL;
	}
	return vl;
}

/*
 * is_sig_header - a DKIM-Signature header: the name in any case, blanks
 * before the colon allowed (libopendkim takes "DKIM-Signature :" too, so
 * max_sigs must count it)
 */
static int
is_sig_header(const struct mw_hdr *h)
{
	return strncasecmp(h->name, "DKIM-Signature", 14) == 0
	    && h->name[14 + strspn(h->name + 14, " \t")] == 0;
}

/* crlf_copy - copy s to d, every bare LF as CRLF; the bytes written */
static size_t
crlf_copy(char *d, const char *s)
{
	char   *start = d, prev = 0;

	for (; *s; prev = *s++) {
		if (*s == '\n' && prev != '\r')
			*d++ = '\r';
		*d++ = *s;
	}
	*d = 0;
	return (size_t) (d - start);
}

/*
 * feed_header - one header to libopendkim as "Name:value". The MTA folds
 * with bare LFs (Postfix does); they become CRLF here, as the signer saw
 * them. (libopendkim's own DKIM_LIBFLAGS_FIXCRLF converts them but keeps
 * the header's old length, cutting its end off: every folded signature
 * then fails.)
 */
static int
feed_header(struct verify *v, const struct mw_hdr *h, int leadspc)
{
	size_t	nlen = strlen(h->name), vlen = strlen(h->raw), n;
	char   *buf;
	DKIM_STAT st;

	if ((buf = malloc(nlen + 2 * vlen + 3)) == NULL)
		return -1;
	memcpy(buf, h->name, nlen);
	memcpy(buf + nlen, leadspc ? ":" : ": ", leadspc ? 1 : 2);
	n = nlen + (leadspc ? 1 : 2);
	n += crlf_copy(buf + n, h->raw);
	st = dkim_header(v->dkim, (u_char *) buf, n);
	free(buf);
	/* A header libopendkim finds malformed is simply not part of its view. */
	return st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL ? -1 : 0;
}

/* feed_headers - every header, but no signature past the first max */
static int
feed_headers(struct verify *v, int leadspc)
{
	const struct mw_hdr *h;

	for (h = v->hdrs; h; h = h->next) {
		if (is_sig_header(h) && v->nfed >= v->max) {
			v->nover++;
			continue;
		}
		if (is_sig_header(h))
			v->nfed++;
		if (feed_header(v, h, leadspc) < 0)
			return -1;
	}
	return 0;
}

/* give_up - libopendkim cannot use this message: no more calls to it */
static void
give_up(struct verify *v, const char *why)
{
	if (v->dkim)
		dkim_free(v->dkim);
	v->dkim = NULL;
	v->unusable = why;
}

/* verify_start - at end of headers: a handle for a signed message */
int
verify_start(struct verify_lib *vl, const struct mw_hdr *hdrs, int leadspc,
	     unsigned max_sigs, const char *id, struct verify **out,
	     char *err, size_t errlen)
{
	const struct mw_hdr *h;
	struct verify *v;
	DKIM_STAT st;

	*out = NULL;
	for (h = hdrs; h && !is_sig_header(h); h = h->next)
		;
	if (h == NULL)
		return 0;		/* unsigned: nothing to do */
	if ((v = calloc(1, sizeof(*v))) == NULL
	    || (v->dkim = dkim_verify(vl->lib, (const u_char *) id, NULL, &st)) == NULL) {
		free(v);
		snprintf(err, errlen, "DKIM: cannot make a verifying handle");
		return -1;
	}
	v->hdrs = hdrs;
	v->max = max_sigs;
	*out = v;
	if (feed_headers(v, leadspc) < 0) {
		snprintf(err, errlen, "DKIM: out of memory in headers");
		return -1;
	}
	st = dkim_eoh(v->dkim);
	if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL) {
		snprintf(err, errlen, "DKIM: %s at end of headers", dkim_getresultstr(st));
		return -1;
	}
	if (st != DKIM_STAT_OK && st != DKIM_STAT_NOSIG)
		give_up(v, "message not verifiable");
	return 0;
}

/* verify_body - one body chunk */
int
verify_body(struct verify *v, const unsigned char *p, size_t len, char *err, size_t errlen)
{
	DKIM_STAT st;

	if (v == NULL || v->dkim == NULL || len == 0)
		return 0;
	st = dkim_body(v->dkim, (u_char *) p, len);
	if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL) {
		snprintf(err, errlen, "DKIM: %s in body", dkim_getresultstr(st));
		return -1;
	}
	if (st != DKIM_STAT_OK)
		give_up(v, "message not verifiable");
	return 0;
}

/*
 * sig_error_result - the result of a signature libopendkim did not pass.
 * Errors not named are syntax problems of the signature: neutral.
 */
static enum verify_result
sig_error_result(int error, const char **why)
{
	static const struct {
		int	error;
		enum verify_result result;
		const char *why;
	}	map[] = {
		{DKIM_SIGERROR_BADSIG, VR_FAIL, "signature mismatch"},
		{DKIM_SIGERROR_KEYFAIL, VR_TEMPERROR, "key lookup failed"},
		{DKIM_SIGERROR_NOKEY, VR_PERMERROR, "no key"},
		{DKIM_SIGERROR_DNSSYNTAX, VR_PERMERROR, "bad key record"},
		{DKIM_SIGERROR_MULTIREPLY, VR_PERMERROR, "several key records"},
		{DKIM_SIGERROR_KEYREVOKED, VR_PERMERROR, "key revoked"},
		{DKIM_SIGERROR_KEYDECODE, VR_PERMERROR, "bad key"},
		{DKIM_SIGERROR_KEYVERSION, VR_PERMERROR, "bad key version"},
		{DKIM_SIGERROR_KEYUNKNOWNHASH, VR_PERMERROR, "bad key hash"},
		{DKIM_SIGERROR_KEYHASHMISMATCH, VR_PERMERROR, "key does not allow this hash"},
		{DKIM_SIGERROR_NOTEMAILKEY, VR_PERMERROR, "not an e-mail key"},
		{DKIM_SIGERROR_KEYTYPEMISSING, VR_PERMERROR, "bad key type"},
		{DKIM_SIGERROR_KEYTYPEUNKNOWN, VR_PERMERROR, "bad key type"},
		{DKIM_SIGERROR_SUBDOMAIN, VR_PERMERROR, "key not valid for subdomains"},
		{DKIM_SIGERROR_EXPIRED, VR_POLICY, "signature expired"},
		{DKIM_SIGERROR_FUTURE, VR_POLICY, "signature in the future"},
		{DKIM_SIGERROR_KEYTOOSMALL, VR_POLICY, "key too small"},
		{DKIM_SIGERROR_TOOLARGE_L, VR_FAIL, "l= longer than the body"},
	};
	size_t	i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].error == error) {
			*why = map[i].why;
			return map[i].result;
		}
	*why = "malformed signature";
	return VR_NEUTRAL;
}

/* sig_result - one signature's result from its libopendkim state */
static enum verify_result
sig_result(DKIM_SIGINFO *sig, const char **why)
{
	int	error = dkim_sig_geterror(sig);
	unsigned int flags = dkim_sig_getflags(sig);
	dkim_alg_t alg;

	*why = NULL;
	if (dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) {
		*why = "body hash mismatch";
		return VR_FAIL;
	}
	if (error != DKIM_SIGERROR_OK && error != DKIM_SIGERROR_UNKNOWN)
		return sig_error_result(error, why);
	if ((flags & DKIM_SIGFLAG_PROCESSED) == 0) {
		*why = "not processed";
		return VR_NEUTRAL;
	}
	if ((flags & DKIM_SIGFLAG_PASSED) == 0)
		return sig_error_result(DKIM_SIGERROR_BADSIG, why);
	if (dkim_sig_getbh(sig) != DKIM_SIGBH_MATCH) {
		*why = "body hash not checked";
		return VR_NEUTRAL;
	}
	if (dkim_sig_getsignalg(sig, &alg) == DKIM_STAT_OK && alg == DKIM_SIGN_RSASHA1) {
		*why = "rsa-sha1 not accepted";
		return VR_POLICY;
	}
	return VR_PASS;
}

/* copy_domain - d= as a lower-case host name, "" when it is not one */
static void
copy_domain(char *out, size_t outlen, const char *d)
{
	if (d == NULL || addr_domain_ascii(d, strlen(d), out, outlen) < 0)
		*out = 0;
}

/* copy_text - s= as written when it is printable ASCII and fits */
static void
copy_text(char *out, size_t outlen, const char *s)
{
	const char *p;

	*out = 0;
	if (s == NULL || strlen(s) >= outlen)
		return;
	for (p = s; *p; p++)
		if (*p <= 32 || *p >= 127)
			return;
	strcpy(out, s);
}

/* keep_base64 - drop anything but base64 characters (folding) from b */
static void
keep_base64(char *b)
{
	char   *w = b;

	for (; *b; b++)
		if (isalnum((unsigned char) *b) || *b == '+' || *b == '/' || *b == '=')
			*w++ = *b;
	*w = 0;
}

/* fill_from_lib - the results libopendkim computed */
static void
fill_from_lib(struct verify *v, DKIM_SIGINFO **sigs, int n)
{
	int	i;

	for (i = 0; i < n && v->nsig < v->nfed; i++) {
		struct verify_sig *r = &v->sig[v->nsig++];
		size_t	blen = sizeof(r->b) - 1;

		r->result = sig_result(sigs[i], &r->why);
		copy_domain(r->d, sizeof(r->d), (const char *) dkim_sig_getdomain(sigs[i]));
		copy_text(r->s, sizeof(r->s), (const char *) dkim_sig_getselector(sigs[i]));
		if (dkim_get_sigsubstring(v->dkim, sigs[i], r->b, &blen) == DKIM_STAT_OK) {
			r->b[blen] = 0;
			keep_base64(r->b);
		}
	}
}

/* fill_from_headers - results for signatures the library did not judge */
static void
fill_from_headers(struct verify *v, unsigned from, unsigned to,
		  enum verify_result result, const char *why)
{
	const struct mw_hdr *h;
	unsigned idx = 0;
	char	tmp[254];

	for (h = v->hdrs; h && v->nsig < v->nfed + v->nover; h = h->next) {
		if (!is_sig_header(h) || idx++ < from || idx > to)
			continue;
		struct verify_sig *r = &v->sig[v->nsig++];

		r->result = result;
		r->why = why;
		if (verify_tag(h->value, "d", tmp, sizeof(tmp)) == 0)
			copy_domain(r->d, sizeof(r->d), tmp);
		if (verify_tag(h->value, "s", tmp, sizeof(tmp)) == 0)
			copy_text(r->s, sizeof(r->s), tmp);
	}
}

/* verify_finish - end of message: look up keys, collect the results */
int
verify_finish(struct verify *v, char *err, size_t errlen)
{
	DKIM_SIGINFO **sigs = NULL;
	DKIM_STAT st;
	_Bool	testkey = 0;
	int	n = 0;

	if ((v->sig = calloc(v->nfed + v->nover, sizeof(*v->sig))) == NULL) {
		snprintf(err, errlen, "DKIM: out of memory");
		return -1;
	}
	if (v->dkim) {
		st = dkim_eom(v->dkim, &testkey);
		if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL) {
			snprintf(err, errlen, "DKIM: %s at end of message", dkim_getresultstr(st));
			return -1;
		}
		if (dkim_getsiglist(v->dkim, &sigs, &n) == DKIM_STAT_OK)
			fill_from_lib(v, sigs, n);
	}
	fill_from_headers(v, v->nsig, v->nfed, VR_PERMERROR,
			  v->unusable ? v->unusable : "not verifiable");
	fill_from_headers(v, v->nfed, v->nfed + v->nover, VR_POLICY, "too many signatures");
	return 0;
}

/* verify_count - signatures reported */
unsigned
verify_count(const struct verify *v)
{
	return v ? v->nsig : 0;
}

/* verify_sig - the i'th signature's result */
const struct verify_sig *
verify_sig(const struct verify *v, unsigned i)
{
	return v && i < v->nsig ? &v->sig[i] : NULL;
}

/* verify_free - release a message's state; NULL is fine */
void
verify_free(struct verify *v)
{
	if (v == NULL)
		return;
	if (v->dkim)
		dkim_free(v->dkim);
	free(v->sig);
	free(v);
}

/* verify_name - the RFC 8601 result word */
const char *
verify_name(enum verify_result r)
{
	static const char *const names[] = {
		"pass", "fail", "neutral", "policy", "temperror", "permerror",
	};

	return (unsigned) r < sizeof(names) / sizeof(names[0]) ? names[r] : "permerror";
}

/*
 * verify_tag - the value of one tag of a DKIM tag-list ("d=a; s=b"),
 * folding white space removed; 0, or -1 when absent or too long.
 */
int
verify_tag(const char *value, const char *tag, char *out, size_t outlen)
{
	const char *p = value, *eq;
	size_t	tlen = strlen(tag), n;

	while (*p) {
		p += strspn(p, " \t\r\n");
		eq = p + strcspn(p, "=;");
		n = (size_t) (eq - p);
		while (n > 0 && strchr(" \t\r\n", p[n - 1]))
			n--;
		if (*eq == '=' && n == tlen && strncmp(p, tag, tlen) == 0) {
			for (n = 0, p = eq + 1; *p && *p != ';'; p++) {
				if (strchr(" \t\r\n", *p))
					continue;
				if (n + 1 >= outlen)
					return -1;
				out[n++] = *p;
			}
			out[n] = 0;
			return n > 0 ? 0 : -1;
		}
		p = eq + strcspn(eq, ";");
		if (*p == ';')
			p++;
	}
	return -1;
}
