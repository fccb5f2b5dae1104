/*
 * NAME
 *	inbound.c - the inbound authentication stage: SPF, DKIM, DMARC
 * SYNOPSIS
 *	extern const struct mw_stage stage_inbound;
 * DESCRIPTION
 *	Inbound mail only (m->dir == MW_DIR_INBOUND, inbound_checks = yes);
 *	outbound mail is never checked. The stage trusts nothing in the
 *	message it did not compute itself.
 *
 *	End of headers: a signed message gets a libopendkim handle, fed the
 *	headers the milter kept (dkim_verify.c); body chunks stream to it.
 *	End of message, all under one DNS budget (dns_budget seconds for
 *	the whole message, started here; no other hook queries DNS, as
 *	libopendkim is told to look up keys only at the end):
 *
 *	1. SPF (spf.c) for the HELO identity, always, and for MAIL FROM; a
 *	   null sender's MAIL FROM identity is its HELO (RFC 7208 2.4).
 *	2. DKIM: every signature's result (dkim_verify.c).
 *	3. DMARC (dmarc.c) for every domain of the From header. A message
 *	   with no From header, several From headers, or a From header that
 *	   addr.c cannot read with certainty (see addr.c) is refused with
 *	   550 5.7.1 (RFC 7489 6.6.1: such mail is "typically rejected";
 *	   CVE-2019-16378 and CVE-2021-34555 came from evaluating only part
 *	   of such headers). One From header with several addresses is
 *	   evaluated for each domain and the strictest outcome applies, so
 *	   no address can shield another from its domain's reject policy.
 *	4. The decision, mildest to strictest: none, tag, hold, tempfail,
 *	   reject (inbound_act.c applies it and writes the headers).
 *
 *	Per From domain, a DMARC fail calls for its effective policy
 *	(after sp and pct): reject (550 5.7.1), quarantine (hold in the
 *	MTA's queue, or a tag header: dmarc_quarantine), or nothing. Local
 *	policy: dmarc_never_reject turns reject into quarantine,
 *	dmarc_always_tag turns reject and quarantine into the tag, both for
 *	a listed domain and its subdomains; dmarc_monitor_only acts on
 *	nothing. A temperror (see dmarc.c) is answered 451 4.4.3 (RFC 3463
 *	X.4.3, "directory server failure": DNS) with temperror_action =
 *	tempfail, and accepted with accept. With spf_fail_reject, an SPF fail
 *	of the MAIL FROM identity is refused 550 5.7.23 (RFC 7372) when no
 *	From domain publishes a DMARC policy.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inbound.h"
#include "config.h"
#include "dkim_verify.h"

/* conf_of - this stage's part of the message's snapshot */
static struct inbound_conf *
conf_of(const struct mw_msg *m)
{
	return m->conf->stage[MW_STAGE_INBOUND];
}

/* active - does this message get the checks? */
static int
active(const struct mw_msg *m)
{
	const struct inbound_conf *ic = conf_of(m);

	return ic && ic->enabled && m->dir == MW_DIR_INBOUND;
}

/* state - the message's state, made on first use; NULL out of memory */
static struct inbound_msg *
state(struct mw_msg *m)
{
	if (m->stage[MW_STAGE_INBOUND] == NULL)
		m->stage[MW_STAGE_INBOUND] = calloc(1, sizeof(struct inbound_msg));
	if (m->stage[MW_STAGE_INBOUND] == NULL)
		msg_note(m, "inbound-error=out of memory");
	return m->stage[MW_STAGE_INBOUND];
}

/* inbound_hdr_is - header name is name, ignoring case and trailing blanks */
int
inbound_hdr_is(const struct mw_hdr *h, const char *name)
{
	size_t	n = strlen(name);

	return strncasecmp(h->name, name, n) == 0
	    && h->name[n + strspn(h->name + n, " \t")] == 0;
}

/* inb_eoh - end of headers: a DKIM handle for a signed message */
static int
inb_eoh(struct mw_msg *m, struct mw_reply *r)
{
	const struct inbound_conf *ic = conf_of(m);
	struct inbound_msg *st;
	char	err[256];

	(void) r;
	if (!active(m) || !ic->dkim)
		return 0;
	if ((st = state(m)) == NULL)
		return -1;
	if (verify_start(ic->vlib, m->hdrs, m->conn->leadspc, ic->max_sigs, m->qid,
			 &st->dkim, err, sizeof(err)) < 0) {
		msg_note(m, "inbound-error=%s", err);
		return -1;
	}
	return 0;
}

/* inb_body - one body chunk to the DKIM handle, if any */
static int
inb_body(struct mw_msg *m, const unsigned char *p, size_t len, struct mw_reply *r)
{
	struct inbound_msg *st = m->stage[MW_STAGE_INBOUND];
	char	err[256];

	(void) r;
	if (st == NULL || st->dkim == NULL)
		return 0;
	if (verify_body(st->dkim, p, len, err, sizeof(err)) < 0) {
		msg_note(m, "inbound-error=%s", err);
		return -1;
	}
	return 0;
}

/* spf_step - HELO, then MAIL FROM (the HELO result for a null sender) */
static int
spf_step(struct mw_msg *m, const struct inbound_conf *ic, struct inbound_msg *st)
{
	const struct sockaddr *sa = (const struct sockaddr *) &m->conn->ss;
	char	err[256];

	if (!ic->spf)
		return 0;
	if (!m->conn->has_addr) {
		msg_note(m, "spf=skipped (no client address)");
		return 0;
	}
	if (spfcheck_run(ic->spfc, sa, m->conn->helo, NULL, &st->helo, err, sizeof(err)) < 0)
		goto fail;
	if (*m->mailfrom == 0)
		st->mfrom = st->helo;
	else if (spfcheck_run(ic->spfc, sa, m->conn->helo, m->mailfrom, &st->mfrom,
			      err, sizeof(err)) < 0)
		goto fail;
	st->spf_ran = 1;
	msg_note(m, "spf=%s, spf-helo=%s", spfcheck_name(st->mfrom.result),
		 spfcheck_name(st->helo.result));
	return 0;
fail:
	msg_note(m, "inbound-error=%s", err);
	return -1;
}

/* dkim_step - the signatures' results; notes the first few */
static int
dkim_step(struct mw_msg *m, const struct inbound_conf *ic, struct inbound_msg *st)
{
	const struct verify_sig *s;
	char	err[256];
	unsigned i, n;

	if (!ic->dkim)
		return 0;
	if (st->dkim && verify_finish(st->dkim, err, sizeof(err)) < 0) {
		msg_note(m, "inbound-error=%s", err);
		return -1;
	}
	if ((n = verify_count(st->dkim)) == 0)
		msg_note(m, "dkim=none");
	for (i = 0; i < n && i < 4; i++) {
		s = verify_sig(st->dkim, i);
		msg_note(m, "dkim=%s d=%s", verify_name(s->result), *s->d ? s->d : "?");
	}
	if (n > 4)
		msg_note(m, "dkim-more=%u", n - 4);
	return 0;
}

/* from_domains - the From domains, or the reason there are none */
static int
from_domains(struct mw_msg *m, struct inbound_dmarc *dm, struct addr_from *from)
{
	const struct mw_hdr *h, *found = NULL;
	unsigned n = 0;
	char	err[64];

	for (h = m->hdrs; h; h = h->next)
		if (inbound_hdr_is(h, "From") && n++ == 0)
			found = h;
	if (n != 1) {
		dm->problem = n == 0 ? "no From header" : "several From headers";
		return -1;
	}
	if (addr_parse_from(found->value, from, err, sizeof(err)) < 0) {
		snprintf(dm->problem_buf, sizeof(dm->problem_buf), "unusable From header: %s", err);
		dm->problem = dm->problem_buf;
		return -1;
	}
	return 0;
}

/* listed - domain is in the list, or a subdomain of an entry */
static int
listed(const char *const *list, unsigned n, const char *domain)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (addr_is_subdomain(domain, list[i]))
			return 1;
	return 0;
}

/* action_for - what one From domain's result calls for, local policy applied */
static enum inbound_action
action_for(const struct inbound_conf *ic, const struct dmarceval_out *o)
{
	enum dmarceval_policy p = o->effective;

	if (ic->monitor_only)
		return INB_ACT_NONE;
	if (o->result == DR_TEMPERROR)
		return ic->temperror_accept ? INB_ACT_NONE : INB_ACT_TEMPFAIL;
	if (o->result != DR_FAIL || p == DP_NONE)
		return INB_ACT_NONE;
	if (p == DP_REJECT && listed(ic->never_reject, ic->n_never_reject, o->from))
		p = DP_QUARANTINE;
	if (listed(ic->always_tag, ic->n_always_tag, o->from))
		return INB_ACT_TAG;
	if (p == DP_REJECT)
		return INB_ACT_REJECT;
	return ic->quarantine == INB_TAG ? INB_ACT_TAG : INB_ACT_HOLD;
}

/* auth_of - the identifiers DMARC aligns; dk has room for every signature */
static void
auth_of(const struct inbound_msg *st, struct dmarceval_dkim *dk, struct dmarceval_auth *a)
{
	unsigned i;

	memset(a, 0, sizeof(*a));
	a->spf_domain = st->spf_ran ? st->mfrom.domain : "";
	a->spf_pass = st->spf_ran && st->mfrom.result == SPFR_PASS;
	a->spf_temperror = st->spf_ran && st->mfrom.result == SPFR_TEMPERROR;
	a->dkim = dk;
	a->ndkim = verify_count(st->dkim);
	for (i = 0; i < a->ndkim; i++) {
		const struct verify_sig *s = verify_sig(st->dkim, i);

		dk[i].d = s->d;
		dk[i].pass = s->result == VR_PASS;
		dk[i].temperror = s->result == VR_TEMPERROR;
	}
}

/* dmarc_step - every From domain's result and action */
static int
dmarc_step(struct mw_msg *m, const struct inbound_conf *ic, struct inbound_msg *st)
{
	struct inbound_dmarc *dm = &st->dm;
	struct dmarceval_dkim *dk;
	struct dmarceval_auth a;
	struct addr_from from;
	unsigned i;

	if (!ic->dmarc)
		return 0;
	st->dmarc_ran = 1;
	if (from_domains(m, dm, &from) < 0) {
		msg_note(m, "dmarc=permerror (%s)", dm->problem);
		return 0;
	}
	if ((dk = calloc(verify_count(st->dkim) + 1, sizeof(*dk))) == NULL) {
		msg_note(m, "inbound-error=out of memory");
		return -1;
	}
	auth_of(st, dk, &a);
	for (i = 0; i < from.ndomain; i++, dm->n++) {
		if (dmarceval_run(m->conf->dns, ic->psl, from.domain[i], &a, &dm->out[i]) < 0) {
			free(dk);
			msg_note(m, "inbound-error=out of memory in DMARC");
			return -1;
		}
		dm->act[i] = action_for(ic, &dm->out[i]);
		msg_note(m, "dmarc=%s from=%s policy=%s", dmarceval_result_name(dm->out[i].result),
			 from.domain[i], dmarceval_policy_name(dm->out[i].effective));
	}
	free(dk);
	return 0;
}

/* no_policy - no From domain publishes a DMARC policy */
static int
no_policy(const struct inbound_msg *st)
{
	unsigned i;

	if (!st->dmarc_ran)
		return 1;
	if (st->dm.problem)
		return 0;
	for (i = 0; i < st->dm.n; i++)
		if (st->dm.out[i].result != DR_NONE)
			return 0;
	return 1;
}

/* decide - the strictest action any check calls for */
static void
decide(const struct inbound_conf *ic, struct inbound_msg *st)
{
	unsigned i;

	st->action = INB_ACT_NONE;
	if (st->dm.problem && !ic->monitor_only)
		st->action = INB_ACT_REJECT;
	for (i = 0; i < st->dm.n; i++)
		if (st->dm.act[i] > st->action) {
			st->action = st->dm.act[i];
			st->action_from = i;
		}
	if (st->action == INB_ACT_NONE && ic->spf_fail_reject && st->spf_ran
	    && st->mfrom.result == SPFR_FAIL && no_policy(st))
		st->action = INB_ACT_REJECT;
}

/* inb_eom - end of message: every check, under the message's DNS budget */
static int
inb_eom(struct mw_msg *m, struct mw_reply *r)
{
	const struct inbound_conf *ic = conf_of(m);
	struct inbound_msg *st;
	int	rc = -1;

	if (!active(m))
		return 0;
	if ((st = state(m)) == NULL)
		return -1;
	dns_budget_start(&st->budget, m->conf->dns_budget);
	dns_budget_set(&st->budget);
	if (spf_step(m, ic, st) == 0 && dkim_step(m, ic, st) == 0 && dmarc_step(m, ic, st) == 0) {
		decide(ic, st);
		rc = inbound_apply(m, ic, st, r);
	}
	dns_budget_set(NULL);
	msg_note(m, "dns=%uq/%uh%s", st->budget.queries, st->budget.hits,
		 st->budget.spent ? " budget-spent" : "");
	return rc;
}

/* inb_msg_end - free the message's state; safe to call twice */
static void
inb_msg_end(struct mw_msg *m)
{
	struct inbound_msg *st = m->stage[MW_STAGE_INBOUND];

	if (st == NULL)
		return;
	verify_free(st->dkim);
	free(st);
	m->stage[MW_STAGE_INBOUND] = NULL;
}

const struct mw_stage stage_inbound = {
	.name = "inbound",
	.conf_load = inbound_conf_load,
	.conf_free = inbound_conf_free,
	.eoh = inb_eoh,
	.body = inb_body,
	.eom = inb_eom,
	.msg_end = inb_msg_end,
};
