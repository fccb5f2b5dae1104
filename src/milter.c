/*
 * NAME
 *	milter.c - the libmilter callbacks
 * DESCRIPTION
 *	Each callback is a few lines: fill the context from what the MTA sent,
 *	hand it to the pipeline, and turn the pipeline's verdict into a milter
 *	answer. No feature logic lives here.
 *
 *	One log line is written per transaction, when it ends (end of message,
 *	abort, a new MAIL FROM, or the connection closing), led by the MTA's
 *	queue ID: the client, direction, envelope sender, recipient count,
 *	every decision the stages noted, and the answer given.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

#include "mailwarden.h"
#include "config.h"
#include "log.h"
#include "milter.h"

/* Macros mailwarden asks the MTA for (milter protocol 6). */
#define MACROS_CONNECT	"{daemon_name} j _"
#define MACROS_MAIL	"i {auth_authen} {auth_type} {mail_addr}"
#define MACROS_RCPT	"i {rcpt_addr}"
#define MACROS_EOM	"i"

/* Private data between negotiation and connect: the MTA speaks LEADSPC. */
static char leadspc_mark;

/* One warning per process and missing macro. */
static int warned_daemon, warned_mail, warned_qid;

/* warn_once - log a configuration hint the first time it applies */
static void
warn_once(int *flag, const char *text)
{
	if (__atomic_exchange_n(flag, 1, __ATOMIC_ACQ_REL) == 0)
		mw_log(LOG_WARNING, "warning: %s", text);
}

/*
 * copy_bounded - strlcpy that reports truncation. A value cut to fit ends
 * in "...": never silently another name (a HELO, a SASL login, a daemon
 * name), it matches no domain, user or list entry, and the log shows it.
 */
static int
copy_bounded(char *dst, size_t len, const char *src)
{
	size_t	n = strlen(src);

	if (n >= len) {
		memcpy(dst, src, len - 1);
		dst[len - 1] = 0;
		if (len > 4)
			memcpy(dst + len - 4, "...", 3);
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

/* strip_angle - "<a@b>" -> "a@b", bounded; -1 when too long */
static int
strip_angle(char *dst, size_t len, const char *src)
{
	size_t	n;

	src += strspn(src, " ");
	if (*src == '<')
		src++;
	n = strcspn(src, ">");
	if (n >= len) {
		copy_bounded(dst, len, src);
		return -1;
	}
	memcpy(dst, src, n);
	dst[n] = 0;
	return 0;
}

/* reply_text - make reply text safe for smfi_setreply (no %, no controls) */
static void
reply_text(char *dst, size_t len, const char *src)
{
	size_t	i = 0;

	for (; *src && i + 2 < len; src++) {
		if (*src == '%') {
			dst[i++] = '%';
			dst[i++] = '%';
		} else {
			dst[i++] = (*src >= 32 && *src < 127) ? *src : ' ';
		}
	}
	dst[i] = 0;
}

/* answer - turn a reply into a milter status, noting it for the log */
static sfsistat
answer(SMFICTX *ctx, struct mw_msg *m, const struct mw_reply *r, const char *stage)
{
	char	text[sizeof(r->text) * 2];

	if (r->verdict == MW_CONTINUE)
		return SMFIS_CONTINUE;
	if (m && (r->verdict != MW_ACCEPT || *m->action == 0))
		snprintf(m->action, sizeof(m->action), "%s at %s%s%s%s%s",
			 r->verdict == MW_ACCEPT ? "accept" :
			 r->verdict == MW_TEMPFAIL ? "tempfail" :
			 r->verdict == MW_REJECT ? "reject" : "discard", stage,
			 *r->rcode ? " " : "", r->rcode, *r->xcode ? " " : "", r->xcode);
	if ((r->verdict == MW_TEMPFAIL || r->verdict == MW_REJECT) && *r->rcode) {
		reply_text(text, sizeof(text), r->text);
		smfi_setreply(ctx, (char *) r->rcode, *r->xcode ? (char *) r->xcode : NULL, text);
	}
	switch (r->verdict) {
	case MW_ACCEPT:
		return SMFIS_ACCEPT;
	case MW_TEMPFAIL:
		return SMFIS_TEMPFAIL;
	case MW_REJECT:
		return SMFIS_REJECT;
	case MW_DISCARD:
		return SMFIS_DISCARD;
	default:
		return SMFIS_CONTINUE;
	}
}

/* fail - an internal failure outside the stages: the configured answer */
static sfsistat
fail(SMFICTX *ctx, struct mw_msg *m, struct mw_conf *conf, const char *what)
{
	struct mw_reply r;

	mw_log(LOG_ERR, "error: %s", what);
	if (m) {
		m->failed = 1;
		msg_note(m, "error=%s", what);
	}
	if (conf == NULL || conf->on_error == MW_ONERR_TEMPFAIL)
		reply_set(&r, MW_TEMPFAIL, "451", "4.3.0",
			  "Temporary local problem, please try again later");
	else
		reply_set(&r, MW_ACCEPT, NULL, NULL, "accepted after internal error");
	return answer(ctx, m, &r, "error");
}

/* msg_log - write the transaction's log line once */
static void
msg_log(struct mw_msg *m, const char *action)
{
	struct mw_conn *c = m->conn;
	char	host[MW_MAX_HOSTNAME], from[MW_MAX_ADDR], qid[MW_MAX_QID];
	char	user[MW_MAX_USER];

	if (m->logged)
		return;
	m->logged = 1;
	mw_log(LOG_INFO, "%s: client=%s[%s], dir=%s (%s), from=<%s>, nrcpt=%u%s%s%s, action=%s",
	       log_clean(qid, sizeof(qid), m->qid),
	       log_clean(host, sizeof(host), c->hostname), *c->addr ? c->addr : "none",
	       dir_name(m->dir), m->dir_why, log_clean(from, sizeof(from), m->mailfrom),
	       m->nrcpt, m->auth_user[0] ? ", sasl=" : "", m->auth_user[0] ?
	       log_clean(user, sizeof(user), m->auth_user) : "",
	       m->notes, *m->action ? m->action : action);
}

/* msg_finish - end the connection's transaction, logging it */
static void
msg_finish(struct mw_conn *c, const char *action)
{
	if (c->msg == NULL)
		return;
	msg_log(c->msg, action);
	msg_free(c->msg);
	c->msg = NULL;
}

/* update_qid - take the queue ID once the MTA names it */
static void
update_qid(SMFICTX *ctx, struct mw_msg *m)
{
	const char *qid = smfi_getsymval(ctx, "i");

	if (qid && *qid)
		copy_bounded(m->qid, sizeof(m->qid), qid);
}

/* mw_negotiate - ask for every action and every stage, and our macros */
static sfsistat
mw_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
	     unsigned long f2, unsigned long f3, unsigned long *pf0,
	     unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void) f2;
	(void) f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT
		     | SMFIF_QUARANTINE | SMFIF_SETSYMLIST);
	*pf1 = f1 & SMFIP_HDR_LEADSPC;	/* f1: the MTA's protocol flags */
	*pf2 = 0;
	*pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_CONNECT, MACROS_CONNECT);
		smfi_setsymlist(ctx, SMFIM_ENVFROM, MACROS_MAIL);
		smfi_setsymlist(ctx, SMFIM_ENVRCPT, MACROS_RCPT);
		smfi_setsymlist(ctx, SMFIM_EOM, MACROS_EOM);
	}
	/* Remember LEADSPC for the connection made next on this context. */
	smfi_setpriv(ctx, (*pf1 & SMFIP_HDR_LEADSPC) ? &leadspc_mark : NULL);
	return SMFIS_CONTINUE;
}

/* mw_connect - a client connects to the MTA */
static sfsistat
mw_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct mw_conn *c;
	const char *dn;
	int	leadspc = smfi_getpriv(ctx) == &leadspc_mark;

	if ((c = calloc(1, sizeof(*c))) == NULL || (c->conf = conf_acquire()) == NULL) {
		free(c);
		smfi_setpriv(ctx, NULL);
		return fail(ctx, NULL, NULL, "out of memory at connect");
	}
	c->leadspc = leadspc;
	smfi_setpriv(ctx, c);
	copy_bounded(c->hostname, sizeof(c->hostname), hostname ? hostname : "unknown");
	if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
		memcpy(&c->ss, sa, sa->sa_family == AF_INET ?
		       sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		c->has_addr = 1;
		inet_ntop(sa->sa_family, sa->sa_family == AF_INET ?
			  (void *) &((struct sockaddr_in *) sa)->sin_addr :
			  (void *) &((struct sockaddr_in6 *) sa)->sin6_addr,
			  c->addr, sizeof(c->addr));
		c->internal = cidr_list_match(&c->conf->internal_hosts, sa);
	}
	if ((dn = smfi_getsymval(ctx, "{daemon_name}")) != NULL)
		copy_bounded(c->daemon_name, sizeof(c->daemon_name), dn);
	else if (c->conf->n_internal_daemons)
		warn_once(&warned_daemon, "the MTA sends no {daemon_name} macro, so "
			  "internal_daemons cannot match: add {daemon_name} to "
			  "milter_connect_macros (Postfix) or Milter.macros.connect (Sendmail)");
	return SMFIS_CONTINUE;
}

/* conn_of - the connection context, or NULL */
static struct mw_conn *
conn_of(SMFICTX *ctx)
{
	void   *p = smfi_getpriv(ctx);

	return p == &leadspc_mark ? NULL : (struct mw_conn *) p;
}

/* mw_helo - HELO or EHLO */
static sfsistat
mw_helo(SMFICTX *ctx, char *helo)
{
	struct mw_conn *c = conn_of(ctx);

	if (c == NULL)
		return fail(ctx, NULL, NULL, "no connection context at HELO");
	copy_bounded(c->helo, sizeof(c->helo), helo ? helo : "");
	return SMFIS_CONTINUE;
}

/* mw_envfrom - MAIL FROM: a new transaction */
static sfsistat
mw_envfrom(SMFICTX *ctx, char **argv)
{
	struct mw_conn *c = conn_of(ctx);
	struct mw_msg *m;
	struct mw_reply r;
	const char *auth;

	if (c == NULL)
		return fail(ctx, NULL, NULL, "no connection context at MAIL FROM");
	msg_finish(c, "abort");
	if ((m = c->msg = msg_new(c)) == NULL)
		return fail(ctx, NULL, c->conf, "out of memory at MAIL FROM");
	c->nmsg++;
	update_qid(ctx, m);
	if ((auth = smfi_getsymval(ctx, "{auth_authen}")) != NULL)
		copy_bounded(m->auth_user, sizeof(m->auth_user), auth);
	else if (smfi_getsymval(ctx, "{mail_addr}") == NULL)
		warn_once(&warned_mail, "the MTA sends no {auth_authen} or {mail_addr} "
			  "macro at MAIL FROM, so SASL-authenticated mail is taken as "
			  "inbound: add i {auth_authen} {mail_addr} to milter_mail_macros "
			  "(Postfix) or Milter.macros.envfrom (Sendmail)");
	m->dir = direction_of(m->conf, c, m->auth_user, &m->dir_why);
	if (strip_angle(m->mailfrom, sizeof(m->mailfrom), argv[0] ? argv[0] : "") < 0) {
		reply_set(&r, MW_REJECT, "501", "5.1.7", "Sender address too long");
		return answer(ctx, m, &r, "MAIL");
	}
	pipeline_mail(m, &r);
	return answer(ctx, m, &r, "MAIL");
}

/* mw_envrcpt - one RCPT TO */
static sfsistat
mw_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mw_conn *c = conn_of(ctx);
	char	rcpt[MW_MAX_ADDR];
	struct mw_reply r;
	sfsistat rc;

	if (c == NULL || c->msg == NULL)
		return fail(ctx, NULL, c ? c->conf : NULL, "no message context at RCPT TO");
	update_qid(ctx, c->msg);
	if (strip_angle(rcpt, sizeof(rcpt), argv[0] ? argv[0] : "") < 0)
		reply_set(&r, MW_REJECT, "501", "5.1.3", "Recipient address too long");
	else
		pipeline_rcpt(c->msg, rcpt, &r);
	rc = answer(ctx, c->msg, &r, "RCPT");
	/* Only a recipient that goes on counts; a refused one is not ours. */
	if (r.verdict == MW_CONTINUE && msg_add_rcpt(c->msg, rcpt) < 0)
		return fail(ctx, c->msg, c->msg->conf, "out of memory at RCPT TO");
	if (r.verdict == MW_TEMPFAIL || r.verdict == MW_REJECT) {
		/* One recipient refused, not the message: a note, not the action. */
		msg_note(c->msg, "rcpt=<%.64s%s> %s", rcpt, strlen(rcpt) > 64 ? "..." : "",
			 c->msg->action);
		*c->msg->action = 0;
	}
	return rc;
}

/* mw_data - DATA */
static sfsistat
mw_data(SMFICTX *ctx)
{
	struct mw_conn *c = conn_of(ctx);

	if (c && c->msg)
		update_qid(ctx, c->msg);
	return SMFIS_CONTINUE;
}

/* mw_header - one header; bounded in count and size */
static sfsistat
mw_header(SMFICTX *ctx, char *name, char *value)
{
	struct mw_conn *c = conn_of(ctx);
	struct mw_msg *m;
	struct mw_reply r;

	if (c == NULL || (m = c->msg) == NULL)
		return fail(ctx, NULL, c ? c->conf : NULL, "no message context at header");
	if (name == NULL || value == NULL)
		return SMFIS_CONTINUE;
	if (m->nhdrs >= m->conf->max_headers
	    || m->hdr_bytes + strlen(name) + strlen(value) > m->conf->max_header_bytes) {
		msg_note(m, "headers=too-many-or-too-large");
		reply_set(&r, MW_REJECT, "552", "5.3.4", "Message header size or count exceeds limit");
		return answer(ctx, m, &r, "header");
	}
	if (msg_add_header(m, name, value) < 0)
		return fail(ctx, m, m->conf, "out of memory at header");
	pipeline_header(m, name, value, &r);
	return answer(ctx, m, &r, "header");
}

/* mw_eoh - end of headers */
static sfsistat
mw_eoh(SMFICTX *ctx)
{
	struct mw_conn *c = conn_of(ctx);
	struct mw_reply r;

	if (c == NULL || c->msg == NULL)
		return fail(ctx, NULL, c ? c->conf : NULL, "no message context at end of headers");
	pipeline_eoh(c->msg, &r);
	return answer(ctx, c->msg, &r, "end of headers");
}

/* mw_body - one body chunk */
static sfsistat
mw_body(SMFICTX *ctx, unsigned char *p, size_t len)
{
	struct mw_conn *c = conn_of(ctx);
	struct mw_reply r;

	if (c == NULL || c->msg == NULL)
		return fail(ctx, NULL, c ? c->conf : NULL, "no message context at body");
	c->msg->body_bytes += len;
	pipeline_body(c->msg, p, len, &r);
	return answer(ctx, c->msg, &r, "body");
}

/* lead_space - value as a LEADSPC MTA expects it (leading space); *buf to free */
static char *
lead_space(SMFICTX *ctx, const char *value, char **buf)
{
	struct mw_conn *c = conn_of(ctx);

	*buf = NULL;
	if (c == NULL || !c->leadspc || *value == ' ' || *value == '\t')
		return (char *) value;
	if ((*buf = malloc(strlen(value) + 2)) == NULL)
		return NULL;
	(*buf)[0] = ' ';
	strcpy(*buf + 1, value);
	return *buf;
}

/* act_insheader - smfi_insheader, with the leading space the MTA expects */
static int
act_insheader(void *arg, int idx, const char *name, const char *value)
{
	char   *buf, *v = lead_space(arg, value, &buf);
	int	rc;

	if (v == NULL)
		return -1;
	rc = smfi_insheader((SMFICTX *) arg, idx, (char *) name, v) == MI_SUCCESS ? 0 : -1;
	free(buf);
	return rc;
}

/* act_chgheader - smfi_chgheader (leading space as above); NULL value deletes */
static int
act_chgheader(void *arg, const char *name, int idx, const char *value)
{
	char   *buf = NULL, *v = value ? lead_space(arg, value, &buf) : NULL;
	int	rc;

	if (value && v == NULL)
		return -1;
	rc = smfi_chgheader((SMFICTX *) arg, (char *) name, idx, v) == MI_SUCCESS ? 0 : -1;
	free(buf);
	return rc;
}

/* act_addrcpt - smfi_addrcpt */
static int
act_addrcpt(void *arg, const char *rcpt)
{
	return smfi_addrcpt((SMFICTX *) arg, (char *) rcpt) == MI_SUCCESS ? 0 : -1;
}

/* act_quarantine - smfi_quarantine */
static int
act_quarantine(void *arg, const char *reason)
{
	return smfi_quarantine((SMFICTX *) arg, (char *) reason) == MI_SUCCESS ? 0 : -1;
}

/* mw_eom - end of message: the stages decide and act */
static sfsistat
mw_eom(SMFICTX *ctx)
{
	struct mw_conn *c = conn_of(ctx);
	struct mw_actions act = {act_insheader, act_chgheader, act_addrcpt,
	act_quarantine, ctx};
	struct mw_reply r;
	sfsistat rc;

	if (c == NULL || c->msg == NULL)
		return fail(ctx, NULL, c ? c->conf : NULL, "no message context at end of message");
	update_qid(ctx, c->msg);
	if (strcmp(c->msg->qid, "NOQUEUE") == 0)
		warn_once(&warned_qid, "the MTA sends no queue ID (macro i) at end of "
			  "message: add i to milter_end_of_data_macros (Postfix) or "
			  "Milter.macros.eom (Sendmail)");
	c->msg->act = &act;
	pipeline_eom(c->msg, &r);
	c->msg->act = NULL;
	rc = answer(ctx, c->msg, &r, "end of message");
	msg_finish(c, "accept");
	return rc;
}

/* mw_abort - the MTA abandoned the transaction */
static sfsistat
mw_abort(SMFICTX *ctx)
{
	struct mw_conn *c = conn_of(ctx);

	if (c)
		msg_finish(c, "abort");
	return SMFIS_CONTINUE;
}

/* mw_close - the connection ends */
static sfsistat
mw_close(SMFICTX *ctx)
{
	struct mw_conn *c = conn_of(ctx);

	if (c) {
		msg_finish(c, "abort");
		conn_free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

/* mw_unknown - a command the MTA did not understand */
static sfsistat
mw_unknown(SMFICTX *ctx, const char *cmd)
{
	(void) ctx;
	(void) cmd;
	return SMFIS_CONTINUE;
}

/* milter_register - register every callback with libmilter */
int
milter_register(void)
{
	static struct smfiDesc desc = {
		"mailwarden",
		SMFI_VERSION,
		SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_QUARANTINE
		| SMFIF_SETSYMLIST,
		mw_connect,
		mw_helo,
		mw_envfrom,
		mw_envrcpt,
		mw_header,
		mw_eoh,
		mw_body,
		mw_eom,
		mw_abort,
		mw_close,
		mw_unknown,
		mw_data,
		mw_negotiate,
	};

	return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
