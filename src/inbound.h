/*
 * NAME
 *	inbound.h - the inbound authentication stage (SPF, DKIM, DMARC)
 * SYNOPSIS
 *	#include "inbound.h"
 * DESCRIPTION
 *	The stage's configuration (inbound_conf.c), its per-message state,
 *	and the functions its parts share (inbound.c, inbound_act.c).
 */
#ifndef MW_INBOUND_H
#define MW_INBOUND_H

#include <confuse.h>
#include <libpsl.h>

#include "mailwarden.h"
#include "addr.h"
#include "dmarc.h"
#include "dns.h"
#include "spf.h"

struct verify_lib;
struct verify;

enum inbound_quarantine {
	INB_HOLD = 0,			/* the MTA's hold queue */
	INB_TAG = 1,			/* a header */
};

struct inbound_conf {
	int	enabled;		/* inbound_checks */
	int	spf, spf_fail_reject, received_spf;
	int	dkim;
	unsigned max_sigs;
	int	dmarc, monitor_only;
	enum inbound_quarantine quarantine;
	const char *tag_header;
	const char **never_reject, **always_tag;
	unsigned n_never_reject, n_always_tag;
	int	temperror_accept;	/* temperror_action = accept */
	struct spfcheck *spfc;		/* when spf */
	struct verify_lib *vlib;	/* when dkim */
	psl_ctx_t *psl;			/* when dmarc */
};

/* What a message's checks call for, mildest first. */
enum inbound_action {
	INB_ACT_NONE = 0,
	INB_ACT_TAG,
	INB_ACT_HOLD,
	INB_ACT_TEMPFAIL,
	INB_ACT_REJECT,
};

struct inbound_dmarc {
	const char *problem;		/* From unusable: why; else NULL */
	char	problem_buf[96];
	unsigned n;
	struct dmarceval_out out[ADDR_MAX_MAILBOXES];
	enum inbound_action act[ADDR_MAX_MAILBOXES];
};

/* Per-message state, in m->stage[MW_STAGE_INBOUND]. */
struct inbound_msg {
	struct dns_budget budget;
	struct verify *dkim;		/* NULL: unsigned, or DKIM off */
	int	spf_ran;
	struct spfcheck_out helo, mfrom;/* mfrom is helo for a null sender */
	int	dmarc_ran;
	struct inbound_dmarc dm;
	enum inbound_action action;
	unsigned action_from;		/* the From domain that decided it */
};

int	inbound_conf_load(cfg_t *, struct mw_conf *, void **);
void	inbound_conf_free(void *);

int	inbound_apply(struct mw_msg *, const struct inbound_conf *,
		      struct inbound_msg *, struct mw_reply *);
int	inbound_hdr_is(const struct mw_hdr *, const char *name);

#endif
