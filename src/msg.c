/*
 * NAME
 *	msg.c - connection and message contexts
 * DESCRIPTION
 *	msg_new() starts a transaction on a connection; msg_free() ends it,
 *	lets every stage free its own state, and drops the config reference.
 *	conn_free() does the same for a connection. Both are safe to call
 *	twice. msg_note() appends one decision to the message's log line.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailwarden.h"
#include "config.h"

/* msg_new - a transaction on a connection, with the current config */
struct mw_msg *
msg_new(struct mw_conn *conn)
{
	struct mw_msg *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if ((m->conf = conf_acquire()) == NULL) {
		free(m);
		return NULL;
	}
	m->conn = conn;
	strcpy(m->qid, "NOQUEUE");
	m->dir_why = "unknown";
	m->rcpt_tail = &m->rcpts;
	m->hdr_tail = &m->hdrs;
	return m;
}

/* msg_free - end a transaction; NULL is fine */
void
msg_free(struct mw_msg *m)
{
	struct mw_rcpt *r, *rn;
	struct mw_hdr *h, *hn;

	if (m == NULL)
		return;
	pipeline_msg_end(m);
	for (r = m->rcpts; r; r = rn) {
		rn = r->next;
		free(r->addr);
		free(r);
	}
	for (h = m->hdrs; h; h = hn) {
		hn = h->next;
		free(h->name);
		free(h);
	}
	free(m->authres);
	conf_release(m->conf);
	free(m);
}

/* msg_add_rcpt - remember an envelope recipient; -1 when out of memory */
int
msg_add_rcpt(struct mw_msg *m, const char *addr)
{
	struct mw_rcpt *r;

	if ((r = calloc(1, sizeof(*r))) == NULL || (r->addr = strdup(addr)) == NULL) {
		free(r);
		return -1;
	}
	*m->rcpt_tail = r;
	m->rcpt_tail = &r->next;
	m->nrcpt++;
	return 0;
}

/* msg_add_header - remember a header; -1 when out of memory */
int
msg_add_header(struct mw_msg *m, const char *name, const char *value)
{
	struct mw_hdr *h;
	size_t	nlen = strlen(name), vlen = strlen(value);

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	/* One allocation: name, NUL, value, NUL. */
	if ((h->name = malloc(nlen + vlen + 2)) == NULL) {
		free(h);
		return -1;
	}
	memcpy(h->name, name, nlen + 1);
	h->raw = h->name + nlen + 1;
	memcpy(h->raw, value, vlen + 1);
	h->value = h->raw + strspn(h->raw, " \t\r\n");
	*m->hdr_tail = h;
	m->hdr_tail = &h->next;
	m->nhdrs++;
	m->hdr_bytes += nlen + vlen + 4;
	return 0;
}

/* msg_header - value of the idx'th header of that name, or NULL */
const char *
msg_header(const struct mw_msg *m, const char *name, int idx)
{
	const struct mw_hdr *h;

	for (h = m->hdrs; h; h = h->next)
		if (strcasecmp(h->name, name) == 0 && idx-- == 0)
			return h->value;
	return NULL;
}

/* msg_note - append ", text" to the message's log line; marks truncation */
void
msg_note(struct mw_msg *m, const char *fmt, ...)
{
	char	text[512];
	size_t	i, need;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (i = 0; text[i]; i++)		/* untrusted parts may be in it */
		if (text[i] < 32 || text[i] >= 127)
			text[i] = '?';
	need = strlen(text) + 2;
	if (m->notes_trunc || m->notes_len + need + 5 >= sizeof(m->notes)) {
		if (!m->notes_trunc && m->notes_len + 5 < sizeof(m->notes)) {
			strcpy(m->notes + m->notes_len, ", ...");
			m->notes_len += 5;
		}
		m->notes_trunc = 1;
		return;
	}
	m->notes_len += (size_t) snprintf(m->notes + m->notes_len,
					  sizeof(m->notes) - m->notes_len, ", %s", text);
}

/* conn_free - end a connection; NULL is fine */
void
conn_free(struct mw_conn *c)
{
	if (c == NULL)
		return;
	msg_free(c->msg);
	c->msg = NULL;
	conf_release(c->conf);
	free(c);
}

/* dir_name - "inbound" or "outbound" */
const char *
dir_name(enum mw_dir d)
{
	return d == MW_DIR_OUTBOUND ? "outbound" : "inbound";
}

/* reply_set - set a verdict and its SMTP reply */
void
reply_set(struct mw_reply *r, enum mw_verdict v, const char *rcode,
	  const char *xcode, const char *fmt, ...)
{
	va_list ap;

	r->verdict = v;
	snprintf(r->rcode, sizeof(r->rcode), "%s", rcode ? rcode : "");
	snprintf(r->xcode, sizeof(r->xcode), "%s", xcode ? xcode : "");
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* msg_insheader - insert a header at position idx (0: top) */
int
msg_insheader(struct mw_msg *m, int idx, const char *name, const char *value)
{
	return m->act ? m->act->insheader(m->act->arg, idx, name, value) : -1;
}

/* msg_chgheader - change (value) or delete (NULL) the idx'th header, 1-based */
int
msg_chgheader(struct mw_msg *m, const char *name, int idx, const char *value)
{
	return m->act ? m->act->chgheader(m->act->arg, name, idx, value) : -1;
}

/* msg_addrcpt - add an envelope recipient */
int
msg_addrcpt(struct mw_msg *m, const char *rcpt)
{
	return m->act ? m->act->addrcpt(m->act->arg, rcpt) : -1;
}

/* msg_quarantine - put the message in the MTA's hold queue */
int
msg_quarantine(struct mw_msg *m, const char *reason)
{
	return m->act ? m->act->quarantine(m->act->arg, reason) : -1;
}
