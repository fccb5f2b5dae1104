/*
 * NAME
 *	inbound_act.c - carry out the inbound checks' decision
 * SYNOPSIS
 *	#include "inbound.h"
 *
 *	int	inbound_apply(m, ic, st, reply)
 * DESCRIPTION
 *	A rejected or deferred message gets its SMTP reply and nothing else:
 *
 *	    550 5.7.1  the DMARC policy of a From domain says reject, or the
 *		       From header is missing, repeated or unusable
 *	    550 5.7.23 SPF fail with spf_fail_reject (RFC 7372)
 *	    451 4.4.3  DMARC temperror with temperror_action = tempfail
 *
 *	A message that goes on loses every Authentication-Results header
 *	claiming our authserv-id (forged: RFC 8601 section 5) and every copy
 *	of the DMARC tag header, then gets exactly one Authentication-Results
 *	header at the top (and a Received-SPF header under it when asked),
 *	and, if DMARC calls for quarantine, the tag header or the MTA's hold
 *	queue. Headers are deleted by their 1-based index among headers of
 *	the same name (smfi_chgheader), highest index first, so a deletion
 *	never shifts the index of one still to come.
 *
 *	The Authentication-Results value is also left in m->authres for the
 *	archive stage.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inbound.h"
#include "authres.h"
#include "config.h"
#include "dkim_verify.h"

/* add_spf - spf results: MAIL FROM (unless null), then HELO */
static void
add_spf(struct authres *ar, const struct mw_msg *m, const struct inbound_msg *st)
{
	if (!st->spf_ran)
		return;
	if (*m->mailfrom) {
		authres_result(ar, "spf", spfcheck_name(st->mfrom.result), st->mfrom.why);
		authres_prop_addr(ar, "smtp.mailfrom", m->mailfrom);
	}
	authres_result(ar, "spf", spfcheck_name(st->helo.result), st->helo.why);
	authres_prop(ar, "smtp.helo", m->conn->helo);
}

/* add_dkim - one dkim result per signature, or dkim=none */
static void
add_dkim(struct authres *ar, const struct inbound_msg *st)
{
	const struct verify_sig *s;
	unsigned i, n = verify_count(st->dkim);

	if (n == 0)
		authres_result(ar, "dkim", "none", NULL);
	for (i = 0; i < n; i++) {
		s = verify_sig(st->dkim, i);
		authres_result(ar, "dkim", verify_name(s->result), s->why);
		if (*s->d)
			authres_prop(ar, "header.d", s->d);
		if (*s->s)
			authres_prop(ar, "header.s", s->s);
		if (*s->b)
			authres_prop(ar, "header.b", s->b);
	}
}

/* disposition - what was done about a domain, in DMARC's words */
static const char *
disposition(enum inbound_action a)
{
	return a == INB_ACT_REJECT ? "reject"
	    : a == INB_ACT_HOLD || a == INB_ACT_TAG ? "quarantine" : "none";
}

/* dmarc_comment - "p=reject pct=50 dis=none" for one domain */
static void
dmarc_comment(char *buf, size_t len, const struct dmarceval_out *o, enum inbound_action a)
{
	int	n;

	n = snprintf(buf, len, "%s=%s", o->sp_applied ? "sp" : "p",
		     dmarceval_policy_name(o->policy));
	if (o->pct < 100 && n > 0 && (size_t) n < len)
		n += snprintf(buf + n, len - (size_t) n, " pct=%d", o->pct);
	if (o->result == DR_FAIL && n > 0 && (size_t) n < len)
		snprintf(buf + n, len - (size_t) n, " dis=%s", disposition(a));
}

/* add_dmarc - one dmarc result per From domain */
static void
add_dmarc(struct authres *ar, const struct inbound_msg *st)
{
	const struct inbound_dmarc *dm = &st->dm;
	char	comment[96];
	unsigned i;

	if (!st->dmarc_ran)
		return;
	if (dm->problem)
		authres_result(ar, "dmarc", "permerror", dm->problem);
	for (i = 0; i < dm->n; i++) {
		const struct dmarceval_out *o = &dm->out[i];

		*comment = 0;
		if (o->result == DR_PASS || o->result == DR_FAIL)
			dmarc_comment(comment, sizeof(comment), o, dm->act[i]);
		authres_result(ar, "dmarc", dmarceval_result_name(o->result),
			       o->why ? o->why : comment);
		authres_prop(ar, "header.from", o->from);
		if (o->result == DR_FAIL)
			authres_prop(ar, "policy.dmarc", dmarceval_policy_name(o->effective));
	}
}

/* rspf_comment - the comment of a Received-SPF header (RFC 7208 9.1) */
static void
rspf_comment(char *buf, size_t len, const char *id, const struct spfcheck_out *o,
	     const char *ip)
{
	const char *d = *o->domain ? o->domain : "(none)";

	switch (o->result) {
	case SPFR_PASS:
		snprintf(buf, len, "%s: domain %s designates %s as permitted sender", id, d, ip);
		break;
	case SPFR_FAIL:
	case SPFR_SOFTFAIL:
		snprintf(buf, len, "%s: domain %s does not designate %s as permitted sender",
			 id, d, ip);
		break;
	case SPFR_NEUTRAL:
		snprintf(buf, len, "%s: %s is neither permitted nor denied by domain %s", id, ip, d);
		break;
	default:
		snprintf(buf, len, "%s: %s%s%s", id, d, *o->why ? ": " : "", o->why);
		break;
	}
}

/* received_spf - the Received-SPF value of the MAIL FROM identity */
static int
received_spf(struct mw_msg *m, const struct inbound_msg *st)
{
	struct authres b;
	char	comment[512];
	const char *id = m->conf->authserv_id, *v;
	int	rc;

	memset(&b, 0, sizeof(b));
	rspf_comment(comment, sizeof(comment), id, &st->mfrom, m->conn->addr);
	authres_put(&b, spfcheck_name(st->mfrom.result));
	authres_put(&b, " (");
	authres_put(&b, comment);
	authres_put(&b, ")\n\tclient-ip=");
	authres_put_value(&b, m->conn->addr);
	authres_put(&b, "; envelope-from=");
	authres_put_value(&b, m->mailfrom);
	authres_put(&b, "; helo=");
	authres_put_value(&b, m->conn->helo);
	authres_put(&b, ";\n\treceiver=");
	authres_put_value(&b, id);
	authres_put(&b, *m->mailfrom ? "; identity=mailfrom;" : "; identity=helo;");
	rc = (v = authres_text(&b)) == NULL ? -1 : msg_insheader(m, 0, "Received-SPF", v);
	authres_free(&b);
	return rc;
}

/* same_index - the 1-based index of h among headers named exactly as it */
static int
same_index(const struct mw_msg *m, const struct mw_hdr *h)
{
	const struct mw_hdr *p;
	int	idx = 1;

	for (p = m->hdrs; p != h; p = p->next)
		idx += strcasecmp(p->name, h->name) == 0;
	return idx;
}

/*
 * delete_all - delete the headers of one name that match, last first. A
 * name written with blanks before the colon ("Authentication-Results :")
 * is the same header to a reader; the MTA knows it by the name as sent,
 * and counts its index among headers of exactly that name.
 */
static int
delete_all(struct mw_msg *m, const char *name, int (*match)(const struct mw_hdr *, const void *),
	   const void *arg)
{
	const struct mw_hdr *h, **del;
	int	n = 0, rc = 0;

	if ((del = calloc(m->nhdrs + 1, sizeof(*del))) == NULL)
		return -1;
	for (h = m->hdrs; h; h = h->next)
		if (inbound_hdr_is(h, name) && (match == NULL || match(h, arg)))
			del[n++] = h;
	while (n > 0 && rc == 0) {
		h = del[--n];
		rc = msg_chgheader(m, h->name, same_index(m, h), NULL);
	}
	free(del);
	return rc;
}

/* ours - an Authentication-Results header claiming our authserv-id */
static int
ours(const struct mw_hdr *h, const void *id)
{
	return authres_is_ours(h->value, id);
}

/* remove_forged - our Authentication-Results and tag headers, from outside */
static int
remove_forged(struct mw_msg *m, const struct inbound_conf *ic)
{
	return delete_all(m, "Authentication-Results", ours, m->conf->authserv_id) < 0
	    || delete_all(m, ic->tag_header, NULL, NULL) < 0 ? -1 : 0;
}

/* add_authres - our Authentication-Results header, on top */
static int
add_authres(struct mw_msg *m, const struct inbound_conf *ic, const struct inbound_msg *st)
{
	struct authres ar;
	const char *v;
	int	rc = -1;

	authres_begin(&ar, m->conf->authserv_id);
	add_spf(&ar, m, st);
	if (ic->dkim)
		add_dkim(&ar, st);
	add_dmarc(&ar, st);
	if ((v = authres_finish(&ar)) != NULL && (m->authres = strdup(v)) != NULL)
		rc = msg_insheader(m, 0, "Authentication-Results", v);
	authres_free(&ar);
	return rc;
}

/* refuse - the SMTP reply for a reject or a tempfail */
static void
refuse(struct mw_msg *m, const struct inbound_conf *ic, const struct inbound_msg *st,
       struct mw_reply *r)
{
	const struct dmarceval_out *o = &st->dm.out[st->action_from];

	if (st->action == INB_ACT_TEMPFAIL) {
		reply_set(r, MW_TEMPFAIL, "451", "4.4.3", "DMARC policy of %s cannot be "
			  "evaluated now (DNS), try again later", o->from);
	} else if (st->dm.problem && !ic->monitor_only) {
		reply_set(r, MW_REJECT, "550", "5.7.1", "Message rejected: %s; DMARC "
			  "requires exactly one From header with its domain", st->dm.problem);
	} else if (st->dm.n && st->dm.act[st->action_from] == INB_ACT_REJECT) {
		reply_set(r, MW_REJECT, "550", "5.7.1", "Message rejected by the DMARC "
			  "policy of %s (%s=reject)", o->from, o->sp_applied ? "sp" : "p");
	} else {
		reply_set(r, MW_REJECT, "550", "5.7.23", "SPF check failed: domain %s does "
			  "not permit %s to send its mail", st->mfrom.domain, m->conn->addr);
	}
	msg_note(m, "inbound=%s", st->action == INB_ACT_TEMPFAIL ? "tempfail" : "reject");
}

/* quarantine - the hold queue or the tag header */
static int
quarantine(struct mw_msg *m, const struct inbound_conf *ic, const struct inbound_msg *st)
{
	char	text[400];

	snprintf(text, sizeof(text), "DMARC policy %s of %s",
		 dmarceval_policy_name(st->dm.out[st->action_from].effective),
		 st->dm.out[st->action_from].from);
	msg_note(m, "inbound=%s", st->action == INB_ACT_HOLD ? "hold" : "tag");
	if (st->action == INB_ACT_HOLD)
		return msg_quarantine(m, text);
	return msg_insheader(m, 0, ic->tag_header, text);
}

/* inbound_apply - the reply, or the headers and quarantine */
int
inbound_apply(struct mw_msg *m, const struct inbound_conf *ic, struct inbound_msg *st,
	      struct mw_reply *r)
{
	if (st->action == INB_ACT_REJECT || st->action == INB_ACT_TEMPFAIL) {
		refuse(m, ic, st, r);
		return 0;
	}
	/*
	 * Deletions first: an inserted header must not shift their indexes.
	 * Each insertion goes on top: Authentication-Results last, so it ends
	 * first, then Received-SPF, then the tag.
	 */
	if (remove_forged(m, ic) < 0) {
		msg_note(m, "inbound-error=cannot change headers");
		return -1;
	}
	if ((st->action == INB_ACT_HOLD || st->action == INB_ACT_TAG)
	    && quarantine(m, ic, st) < 0) {
		msg_note(m, "inbound-error=cannot quarantine");
		return -1;
	}
	if ((ic->received_spf && st->spf_ran && received_spf(m, st) < 0)
	    || add_authres(m, ic, st) < 0) {
		msg_note(m, "inbound-error=cannot change headers");
		return -1;
	}
	return 0;
}
