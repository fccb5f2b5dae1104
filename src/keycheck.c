/*
 * NAME
 *	keycheck.c - compare the signing keys with their DNS records
 * DESCRIPTION
 *	For each key: the TXT records at SELECTOR._domainkey.DOMAIN (RFC 6376
 *	section 3.6.2.1), each read as a tag list. A record matches when its
 *	k= (rsa when absent) is the key's type and its p= decodes to the
 *	key's public half (for RSA, SubjectPublicKeyInfo or a bare
 *	RSAPublicKey). An empty p= is a revoked key. Keys whose domain is
 *	"%" (the From domain, from an OpenDKIM KeyTable) have no one record
 *	to check and are listed as such.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "keycheck.h"
#include "keys.h"
#include "sign.h"
#include "tags.h"

#define KEYCHECK_MAX_TXT 16384
#define KEYCHECK_MAX_P	4096

/* keycheck_record - verdict on one record: NULL matches, else why not */
static const char *
keycheck_record(const struct keys_key *k, const char *rec)
{
	char	kt[32], p[KEYCHECK_MAX_P], v[16];
	unsigned char der[KEYCHECK_MAX_P];
	int	n;

	if (tags_get(rec, "v", v, sizeof(v)) == 0 && strcmp(v, "DKIM1") != 0)
		return "not a DKIM key record (v= is not DKIM1)";
	if (tags_get(rec, "p", p, sizeof(p)) < 0)
		return "the record has no p= tag";
	if (*p == 0)
		return "the key is revoked in DNS (empty p=)";
	if (tags_get(rec, "k", kt, sizeof(kt)) < 0)
		strcpy(kt, "rsa");
	if (strcmp(kt, keys_type_name(k->type)) != 0)
		return k->type == KEYS_RSA ? "DNS has k= of another type than rsa"
		    : "DNS has k= of another type than ed25519";
	if ((n = keys_b64_decode(p, der, sizeof(der))) < 0)
		return "p= is not base64";
	if (!keys_match_public(k, der, (size_t) n))
		return "MISMATCH: the key in DNS is not the public half of the key file";
	return NULL;
}

/* keycheck_why - verdict on all records at the name: NULL when one matches */
static const char *
keycheck_why(const struct keys_key *k, const char *recs, unsigned nrec)
{
	const char *why = "no TXT record", *w;
	unsigned i;

	for (i = 0; i < nrec; i++, recs += strlen(recs) + 1)
		if ((w = keycheck_record(k, recs)) == NULL)
			return NULL;
		else if (i == 0 || strncmp(w, "MISMATCH", 8) == 0)
			why = w;
	return why;
}

/* keycheck_one - look up and judge one key; 0 matches, 1 not */
static int
keycheck_one(struct dns_resolver *dns, const struct keys_key *k, FILE *out)
{
	char	recs[KEYCHECK_MAX_TXT], name[600];
	const char *why;
	unsigned nrec = 0;
	enum dns_status st;

	fprintf(out, "%s s=%s (%s %u bits, %s): ", k->domain ? k->domain : "%",
		k->selector, keys_type_name(k->type), k->bits, k->file);
	if (k->domain == NULL) {
		fprintf(out, "not checked: its domain is the From domain (%%)\n");
		return 0;
	}
	snprintf(name, sizeof(name), "%s._domainkey.%s", k->selector, k->domain);
	st = dns_txt(dns, name, recs, sizeof(recs), &nrec);
	if (st == DNS_NXDOMAIN || (st == DNS_OK && nrec == 0))
		why = "no TXT record";
	else if (st != DNS_OK)
		why = st == DNS_TEMPFAIL ? "DNS lookup failed (temporary)" : "DNS lookup failed";
	else
		why = keycheck_why(k, recs, nrec);
	fprintf(out, "%s at %s%s\n", why ? why : "ok, matches the record", name,
		!why && nrec > 1 ? " (warning: more than one TXT record)" : "");
	return why != NULL;
}

/* keycheck_run - every key of the snapshot against DNS */
int
keycheck_run(struct mw_conf *conf, FILE *out)
{
	const struct sign_conf *sc = conf->stage[MW_STAGE_SIGN];
	unsigned i, bad = 0;

	if (sc == NULL || signtab_nkeys(sc->tab) == 0) {
		fprintf(out, "no signing keys configured (signing = no, or no sign sections)\n");
		return 2;
	}
	for (i = 0; i < signtab_nkeys(sc->tab); i++)
		bad += (unsigned) keycheck_one(conf->dns, signtab_key(sc->tab, i), out);
	return bad ? 1 : 0;
}
