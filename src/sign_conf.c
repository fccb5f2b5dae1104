/*
 * NAME
 *	sign_conf.c - configuration of outbound DKIM signing
 * DESCRIPTION
 *	Once per configuration snapshot: every sign "DOMAIN" { key "SEL" {
 *	file = ... } } section and, when given, OpenDKIM's KeyTable and
 *	SigningTable are read into one signing table, every key file is
 *	loaded and checked (keys.c), and one libopendkim handle is set up
 *	with the signed and over-signed header lists, the canonicalization
 *	and the expiry. Every problem is a configuration error naming the
 *	file, so "mailwarden -n" and the start fail with it, and a reload
 *	keeps the running configuration.
 *
 *	Header names go into a regular expression inside libopendkim, so
 *	only letters, digits, '-' and '_' are accepted. A header that is
 *	over-signed must also be signed: libopendkim lists it in h= either
 *	way, and a verifier would then hash a copy the signer left out.
 */
#include "autoconf.h"

#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "keytable.h"
#include "options.h"
#include "sign.h"
#include "signmem.h"

#define SIGN_ORIGIN "sign sections"

/* sign_owner - who must read the keys once privileges are dropped */
static void
sign_owner(const struct mw_conf *conf, struct keys_owner *o)
{
	struct passwd *pw;
	struct group *gr;

	memset(o, 0, sizeof(*o));
	if (getuid() != 0 || *conf->user == 0 || (pw = getpwnam(conf->user)) == NULL
	    || pw->pw_uid == 0)
		return;
	o->uid = pw->pw_uid;
	o->gid = pw->pw_gid;
	if (*conf->group && (gr = getgrnam(conf->group)) != NULL)
		o->gid = gr->gr_gid;
	o->user = conf->user;
	o->check = 1;
}

/* sign_key - one key "SEL" { file = ... } of a sign section; -1 reported */
static int
sign_key(struct sign_conf *sc, cfg_t *ksec, const char *domain, int subdomains,
	 int safe, const struct keys_owner *own)
{
	const char *sel = cfg_title(ksec), *file = cfg_getstr(ksec, "file");
	char	err[1024], dot[SIGNTAB_MAX_PATTERN];
	struct keys_key *k;

	if (!keytable_selector_ok(sel)) {
		conf_error(ksec, "key \"%s\": not a selector (letters, digits, '-', '_', dots)", sel);
		return -1;
	}
	if (file == NULL || *file == 0) {
		conf_error(ksec, "key \"%s\" of sign \"%s\": give file = \"/path/to/key\"", sel, domain);
		return -1;
	}
	if ((k = signtab_key_new(sc->tab)) == NULL || (k->selector = strdup(sel)) == NULL
	    || (k->domain = strdup(domain)) == NULL) {
		conf_error(ksec, "out of memory");
		return -1;
	}
	snprintf(dot, sizeof(dot), ".%s", domain);
	if (keys_load(k, file, safe, own, err, sizeof(err)) < 0
	    || signtab_add(sc->tab, domain, k, SIGN_ORIGIN, err, sizeof(err)) < 0
	    || (subdomains && signtab_add(sc->tab, dot, k, SIGN_ORIGIN, err, sizeof(err)) < 0)) {
		conf_error(ksec, "%s", err);
		return -1;
	}
	return 0;
}

/* sign_section - one sign "DOMAIN" { ... }; -1 when any of it failed */
static int
sign_section(struct sign_conf *sc, cfg_t *sec, int safe, const struct keys_owner *own)
{
	const char *domain = cfg_title(sec);
	char	err[256];
	unsigned i, n = cfg_size(sec, "key");
	int	rc = 0;

	if (opt_check_domain(domain, err, sizeof(err)) < 0) {
		conf_error(sec, "sign \"%s\": %s", domain, err);
		return -1;
	}
	if (n == 0) {
		conf_error(sec, "sign \"%s\" has no key \"SELECTOR\" { file = ... } section", domain);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (sign_key(sc, cfg_getnsec(sec, "key", i), domain,
			     cfg_getbool(sec, "subdomains"), safe, own) < 0)
			rc = -1;
	return rc;
}

/* sign_table_report - keytable_import's errors, at the option's line */
static void
sign_table_report(void *arg, const char *msg)
{
	(void) arg;
	conf_error_opt(strncmp(msg, "KeyTable", 8) == 0 ? "keytable" : "signingtable",
		       "%s", msg);
}

/* sign_tables - OpenDKIM's KeyTable and SigningTable, when given */
static int
sign_tables(struct sign_conf *sc, cfg_t *cfg, int safe, const struct keys_owner *own)
{
	const char *kt = cfg_getstr(cfg, "keytable"), *st = cfg_getstr(cfg, "signingtable");
	struct keytable_opts o = {safe, own, sign_table_report, NULL};

	if (*kt == 0 && *st == 0)
		return 0;
	if (*kt == 0 || *st == 0) {
		conf_error_opt(*kt ? "keytable" : "signingtable", "keytable and signingtable "
			       "go together: give both, or neither");
		return -1;
	}
	return keytable_import(sc->tab, kt, st, &o);
}

/* sign_hdr_ok - a header name libopendkim's regular expression takes literally */
static int
sign_hdr_ok(const char *n)
{
	if (*n == 0)
		return 0;
	for (; *n; n++)
		if (!isalnum((unsigned char) *n) && *n != '-' && *n != '_')
			return 0;
	return 1;
}

/* sign_list - a NULL-terminated array of a list option's names; NULL reported */
static const char **
sign_list(cfg_t *cfg, const char *opt, int add_from)
{
	unsigned i, n = cfg_size(cfg, opt), k = 0;
	const char **v;

	if ((v = calloc(n + 2, sizeof(*v))) == NULL) {
		conf_error_opt(opt, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const char *h = cfg_getnstr(cfg, opt, i);

		if (!sign_hdr_ok(h) || strcasecmp(h, "DKIM-Signature") == 0) {
			conf_error_opt(opt, "\"%s\": a signed header name has only letters, "
				       "digits, '-' and '_', and is not DKIM-Signature", h);
			free(v);
			return NULL;
		}
		if (strcasecmp(h, "From") == 0)
			add_from = 0;
		v[k++] = h;
	}
	if (add_from)
		v[k] = "From";
	return v;
}

/* sign_subset - every over-signed header is signed; -1 reported */
static int
sign_subset(const char **over, const char **sign)
{
	unsigned i, j;

	for (i = 0; over[i]; i++) {
		for (j = 0; sign[j] && strcasecmp(sign[j], over[i]) != 0; j++)
			;
		if (sign[j] == NULL && strcasecmp(over[i], "From") != 0) {
			conf_error_opt("oversign_headers", "\"%s\" is not in sign_headers: a "
				       "header over-signed but not signed breaks the signature of "
				       "any message that has it", over[i]);
			return -1;
		}
	}
	return 0;
}

/* sign_headers - the signed and over-signed header lists into the library */
static int
sign_headers(struct sign_conf *sc, cfg_t *cfg)
{
	const char **sign = sign_list(cfg, "sign_headers", 0);
	const char **over = sign_list(cfg, "oversign_headers", 1);
	int	rc = -1;

	if (sign && over && sign_subset(over, sign) == 0) {
		if (dkim_options(sc->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, sign,
				 sizeof(sign)) != DKIM_STAT_OK)
			conf_error_opt("sign_headers", "libopendkim refuses the list (too long?)");
		else if (dkim_options(sc->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, over,
				      sizeof(over)) != DKIM_STAT_OK)
			conf_error_opt("oversign_headers", "libopendkim refuses the list");
		else
			rc = 0;
	}
	free(sign);
	free(over);
	return rc;
}

/* sign_lib - the libopendkim handle of this snapshot; -1 reported */
static int
sign_lib(struct sign_conf *sc, cfg_t *cfg)
{
	static const dkim_canon_t canon[4][2] = {
		{DKIM_CANON_RELAXED, DKIM_CANON_RELAXED}, {DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE},
		{DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED}, {DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE},
	};
	int	c = conf_enum(cfg, "sign_canonicalization");
	uint64_t ttl = (uint64_t) cfg_getint(cfg, "sign_expire");

	if ((sc->lib = dkim_init(signmem_alloc, signmem_free)) == NULL) {
		conf_error(NULL, "cannot set up libopendkim (out of memory?)");
		return -1;
	}
	sc->hcanon = canon[c < 0 ? 0 : c][0];
	sc->bcanon = canon[c < 0 ? 0 : c][1];
	if (ttl && dkim_options(sc->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNATURETTL, &ttl,
				sizeof(ttl)) != DKIM_STAT_OK) {
		conf_error_opt("sign_expire", "libopendkim refuses the expiry");
		return -1;
	}
	return sign_headers(sc, cfg);
}

/* sign_ed25519_ok - the library can make Ed25519 signatures if a key needs it */
static int
sign_ed25519_ok(struct sign_conf *sc)
{
	unsigned i;

	for (i = 0; i < signtab_nkeys(sc->tab); i++)
		if (signtab_key(sc->tab, i)->type == KEYS_ED25519
		    && !dkim_libfeature(sc->lib, DKIM_FEATURE_ED25519)) {
			conf_error(NULL, "key file %s: this libopendkim cannot make Ed25519 "
				   "signatures", signtab_key(sc->tab, i)->file);
			return -1;
		}
	return 0;
}

/* sign_conf_free - release a sign_conf; NULL is fine */
void
sign_conf_free(void *data)
{
	struct sign_conf *sc = data;

	if (sc == NULL)
		return;
	if (sc->lib)
		dkim_close(sc->lib);
	signtab_free(sc->tab);
	free(sc);
}

/* sign_conf_load - the signing part of a snapshot; NULL data when signing = no */
int
sign_conf_load(cfg_t *cfg, struct mw_conf *conf, void **data)
{
	struct sign_conf *sc;
	struct keys_owner own;
	const char *fb = cfg_getstr(cfg, "sign_fallback_domain");
	int	safe = cfg_getbool(cfg, "require_safe_keys"), rc = 0;
	unsigned i;
	char	err[512];

	*data = NULL;
	if (!cfg_getbool(cfg, "signing"))
		return 0;
	if ((sc = calloc(1, sizeof(*sc))) == NULL || (sc->tab = signtab_new()) == NULL) {
		free(sc);
		return -1;
	}
	sign_owner(conf, &own);
	for (i = 0; i < cfg_size(cfg, "sign"); i++)
		rc |= sign_section(sc, cfg_getnsec(cfg, "sign", i), safe, &own);
	rc |= sign_tables(sc, cfg, safe, &own);
	if (rc == 0 && *fb && signtab_set_fallback(sc->tab, fb, err, sizeof(err)) < 0) {
		conf_error_opt("sign_fallback_domain", "%s", err);
		rc = -1;
	}
	if (rc == 0 && (sign_lib(sc, cfg) < 0 || sign_ed25519_ok(sc) < 0))
		rc = -1;
	if (rc < 0) {
		sign_conf_free(sc);
		return -1;
	}
	*data = sc;
	return 0;
}
