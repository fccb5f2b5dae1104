/*
 * NAME
 *	inbound_conf.c - the inbound checks' part of a config snapshot
 * DESCRIPTION
 *	Reads the inbound options (inbound_checks, spf*, dkim_verify,
 *	max_signatures, dmarc*, public_suffix_list, temperror_action) into
 *	a struct inbound_conf, and makes the libraries' per-snapshot state
 *	once here, never per message: the libspf2 server, the libopendkim
 *	library handle, and the public suffix list. libopendmarc needs no
 *	set-up: only its per-record functions are used (see dmarc.c).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inbound.h"
#include "config.h"
#include "dkim_verify.h"

/* list_of - a list option as pointers into the cfg tree */
static int
list_of(cfg_t *cfg, const char *opt, const char ***out, unsigned *n)
{
	unsigned i, k = cfg_size(cfg, opt);

	*out = NULL;
	*n = k;
	if (k == 0)
		return 0;
	if ((*out = calloc(k, sizeof(**out))) == NULL)
		return -1;
	for (i = 0; i < k; i++)
		(*out)[i] = cfg_getnstr(cfg, opt, i);
	return 0;
}

/* read_options - the plain values */
static int
read_options(cfg_t *cfg, struct inbound_conf *ic)
{
	ic->enabled = cfg_getbool(cfg, "inbound_checks") == cfg_true;
	ic->spf = cfg_getbool(cfg, "spf") == cfg_true;
	ic->spf_fail_reject = cfg_getbool(cfg, "spf_fail_reject") == cfg_true;
	ic->received_spf = cfg_getbool(cfg, "received_spf") == cfg_true;
	ic->dkim = cfg_getbool(cfg, "dkim_verify") == cfg_true;
	ic->max_sigs = (unsigned) cfg_getint(cfg, "max_signatures");
	ic->dmarc = cfg_getbool(cfg, "dmarc") == cfg_true;
	ic->monitor_only = cfg_getbool(cfg, "dmarc_monitor_only") == cfg_true;
	ic->quarantine = conf_enum(cfg, "dmarc_quarantine") == 1 ? INB_TAG : INB_HOLD;
	ic->tag_header = cfg_getstr(cfg, "dmarc_tag_header");
	ic->temperror_accept = conf_enum(cfg, "temperror_action") == 1;
	return list_of(cfg, "dmarc_never_reject", &ic->never_reject, &ic->n_never_reject) < 0
	    || list_of(cfg, "dmarc_always_tag", &ic->always_tag, &ic->n_always_tag) < 0
	    ? -1 : 0;
}

/* make_libraries - the libraries' state for this snapshot */
static int
make_libraries(cfg_t *cfg, struct mw_conf *conf, struct inbound_conf *ic)
{
	char	err[512];

	if (ic->spf && (ic->spfc = spfcheck_new(conf->dns, conf->authserv_id,
						err, sizeof(err))) == NULL) {
		conf_error_opt("spf", "%s", err);
		return -1;
	}
	if (ic->dkim && (ic->vlib = verify_lib_new(conf->dns, err, sizeof(err))) == NULL) {
		conf_error_opt("dkim_verify", "%s", err);
		return -1;
	}
	if (ic->dmarc && dmarceval_psl_load(cfg_getstr(cfg, "public_suffix_list"),
					    &ic->psl, err, sizeof(err)) < 0) {
		conf_error_opt("public_suffix_list", "%s", err);
		return -1;
	}
	return 0;
}

/* inbound_conf_free - release a snapshot's inbound state; NULL is fine */
void
inbound_conf_free(void *data)
{
	struct inbound_conf *ic = data;

	if (ic == NULL)
		return;
	spfcheck_free(ic->spfc);
	verify_lib_free(ic->vlib);
	if (ic->psl)
		psl_free(ic->psl);
	free(ic->never_reject);
	free(ic->always_tag);
	free(ic);
}

/* inbound_conf_load - the stage's conf_load hook */
int
inbound_conf_load(cfg_t *cfg, struct mw_conf *conf, void **data)
{
	struct inbound_conf *ic;

	*data = NULL;
	if ((ic = calloc(1, sizeof(*ic))) == NULL)
		return -1;
	if (read_options(cfg, ic) < 0) {
		inbound_conf_free(ic);
		return -1;
	}
	if (ic->enabled && make_libraries(cfg, conf, ic) < 0) {
		inbound_conf_free(ic);
		return -1;
	}
	*data = ic;
	return 0;
}
