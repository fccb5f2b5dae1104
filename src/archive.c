/*
 * NAME
 *	archive.c - compliance archiving: BCC copies and the journal
 * DESCRIPTION
 *	archive "NAME" { ... } rules select mail by direction, sender
 *	domain, recipient domain and SASL user (all given criteria must
 *	hold; an empty list matches anything). The rules are evaluated once
 *	the envelope is complete (end of headers).
 *
 *	BCC: at end of message every archive address of the matching rules
 *	is added as an envelope recipient, once per message however many
 *	rules name it (compared case-insensitively) and not at all when it
 *	already is a recipient. No header is added or changed: nothing in
 *	any recipient's copy tells of the archive.
 *
 *	Journal: when a matching rule says journal = yes, the message is
 *	streamed to a temporary file while it arrives (journal.c) and, at
 *	end of message, made durable with its JSON envelope record and
 *	indexed, before the MTA gets its answer. When that fails and any
 *	matching journal rule is not best_effort, the message is refused
 *	with 451 4.3.0, whatever on_error says, so it is never accepted
 *	unarchived; otherwise the failure is noted and the message goes on.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "archive.h"
#include "config.h"
#include "journal.h"

enum arch_need {
	ARCH_J_NONE = 0,
	ARCH_J_BEST_EFFORT,
	ARCH_J_REQUIRED,
};

/* Per-message state: msg->stage[MW_STAGE_ARCHIVE]. */
struct arch_msg {
	int	any;			/* some rule matched */
	enum arch_need need;		/* journal wanted, and how badly */
	struct journal *j;		/* entry being written */
	int	jfailed;		/* the entry cannot be completed */
	char	jerr[300];		/* why */
	unsigned char matched[];	/* per rule */
};

/* domain_of - the part after the last '@', or NULL */
static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : NULL;
}

/* in_list - case-insensitive membership; NULL is never a member */
static int
in_list(const char *s, const char **list, unsigned n, int icase)
{
	unsigned i;

	for (i = 0; s && i < n; i++)
		if (icase ? strcasecmp(s, list[i]) == 0 : strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* rcpt_domain_match - has the message a recipient in one of the domains? */
static int
rcpt_domain_match(const struct arch_rule *rule, const struct mw_msg *m)
{
	const struct mw_rcpt *r;

	for (r = m->rcpts; r; r = r->next)
		if (in_list(domain_of(r->addr), rule->rcpt_domains, rule->nrcpt, 1))
			return 1;
	return 0;
}

/* arch_rule_match - does a rule select this message? */
int
arch_rule_match(const struct arch_rule *rule, const struct mw_msg *m)
{
	if (rule->dir != ARCH_DIR_BOTH
	    && (int) rule->dir != (m->dir == MW_DIR_OUTBOUND ? ARCH_DIR_OUTBOUND : ARCH_DIR_INBOUND))
		return 0;
	if (rule->nsender
	    && !in_list(domain_of(m->mailfrom), rule->sender_domains, rule->nsender, 1))
		return 0;
	if (rule->nusers && !in_list(m->auth_user, rule->users, rule->nusers, 0))
		return 0;
	if (rule->nrcpt && !rcpt_domain_match(rule, m))
		return 0;
	return 1;
}

/* is_rcpt - is addr already an envelope recipient (case-insensitive)? */
static int
is_rcpt(const struct mw_msg *m, const char *addr)
{
	const struct mw_rcpt *r;

	for (r = m->rcpts; r; r = r->next)
		if (strcasecmp(r->addr, addr) == 0)
			return 1;
	return 0;
}

/*
 * arch_bcc_list - the archive addresses of the matched rules, each once
 * (case-insensitively), in rule order, leaving out present recipients
 */
unsigned
arch_bcc_list(const struct arch_conf *ac, const unsigned char *matched,
	      const struct mw_msg *m, const char **out, unsigned max)
{
	unsigned i, k, n = 0;

	for (i = 0; i < ac->nrule; i++) {
		const struct arch_rule *rule = &ac->rule[i];

		for (k = 0; matched[i] && k < rule->nbcc; k++)
			if (n < max && !in_list(rule->bcc[k], out, n, 1)
			    && !is_rcpt(m, rule->bcc[k]))
				out[n++] = rule->bcc[k];
	}
	return n;
}

/* json_field - ,\n  "key": (the caller writes the value) */
static void
json_field(struct json_buf *b, const char *key, int first)
{
	json_puts(b, first ? "{\n  \"" : ",\n  \"");
	json_puts(b, key);
	json_puts(b, "\": ");
}

/* json_opt - a string, or null when empty */
static void
json_opt(struct json_buf *b, const char *s)
{
	json_cstring(b, s && *s ? s : NULL);
}

/* record_envelope - MAIL FROM, RCPT TO, the added archive recipients */
static void
record_envelope(struct json_buf *b, const struct mw_msg *m, const struct arch_record *rec)
{
	const struct mw_rcpt *r;
	unsigned i;

	json_field(b, "mail_from", 0);
	json_cstring(b, m->mailfrom);
	json_field(b, "rcpt_to", 0);
	json_puts(b, "[");
	for (r = m->rcpts; r; r = r->next) {
		json_cstring(b, r->addr);
		if (r->next)
			json_puts(b, ", ");
	}
	json_puts(b, "]");
	json_field(b, "archive_rcpt_to", 0);
	json_puts(b, "[");
	for (i = 0; i < rec->nbcc; i++) {
		json_cstring(b, rec->bcc[i]);
		if (i + 1 < rec->nbcc)
			json_puts(b, ", ");
	}
	json_puts(b, "]");
}

/* record_rules - the names of the rules that matched */
static void
record_rules(struct json_buf *b, const struct arch_conf *ac, const struct arch_record *rec)
{
	unsigned i, n = 0;

	json_field(b, "rules", 0);
	json_puts(b, "[");
	for (i = 0; i < ac->nrule; i++)
		if (rec->matched[i]) {
			json_puts(b, n++ ? ", " : "");
			json_cstring(b, ac->rule[i].name);
		}
	json_puts(b, "]");
}

/* arch_record_json - the envelope record of a journal entry */
void
arch_record_json(struct json_buf *b, const struct arch_conf *ac,
		 const struct mw_msg *m, const struct arch_record *rec)
{
	char	when[32];
	struct tm tm;

	gmtime_r(&rec->time, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_field(b, "format", 1);
	json_cstring(b, "mailwarden-journal-1");
	json_field(b, "entry", 0);
	json_cstring(b, rec->entry);
	json_field(b, "time", 0);
	json_cstring(b, when);
	json_field(b, "queue_id", 0);
	json_cstring(b, m->qid);
	json_field(b, "direction", 0);
	json_cstring(b, dir_name(m->dir));
	json_field(b, "direction_reason", 0);
	json_opt(b, m->dir_why);
	json_field(b, "client_address", 0);
	json_opt(b, m->conn ? m->conn->addr : NULL);
	json_field(b, "client_name", 0);
	json_opt(b, m->conn ? m->conn->hostname : NULL);
	json_field(b, "helo", 0);
	json_opt(b, m->conn ? m->conn->helo : NULL);
	json_field(b, "sasl_user", 0);
	json_opt(b, m->auth_user);
	record_envelope(b, m, rec);
	record_rules(b, ac, rec);
	json_field(b, "authentication_results", 0);
	json_cstring(b, m->authres);
	json_field(b, "message_file", 0);
	json_cstring(b, rec->file);
	json_field(b, "message_size", 0);
	json_printf(b, "%llu", (unsigned long long) rec->size);
	json_field(b, "message_sha256", 0);
	json_cstring(b, rec->sha256);
	json_puts(b, "\n}\n");
}

/* arch_header_bytes - the header block as received, CRLF line ends */
static void
arch_header_bytes(const struct mw_msg *m, struct json_buf *b)
{
	const struct mw_hdr *h;
	const char *p;
	int	leadspc = m->conn && m->conn->leadspc;

	for (h = m->hdrs; h; h = h->next) {
		json_puts(b, h->name);
		json_puts(b, leadspc ? ":" : ": ");
		for (p = h->raw; *p; p++) {
			if (*p == '\n' && (p == h->raw || p[-1] != '\r'))
				json_put(b, "\r", 1);
			json_put(b, p, 1);
		}
		json_put(b, "\r\n", 2);
	}
	json_put(b, "\r\n", 2);
}

/* arch_journal_open - start the entry and write the headers into it */
static void
arch_journal_open(struct mw_msg *m, struct arch_msg *s, const struct arch_conf *ac)
{
	struct json_buf b;

	if (journal_open(ac->writer, m->qid, time(NULL), &s->j, s->jerr,
			 sizeof(s->jerr)) < 0) {
		s->jfailed = 1;
		return;
	}
	json_init(&b);
	arch_header_bytes(m, &b);
	if (b.oom) {
		snprintf(s->jerr, sizeof(s->jerr), "out of memory");
		s->jfailed = 1;
	} else if (journal_write(s->j, b.p, b.len, s->jerr, sizeof(s->jerr)) < 0) {
		s->jfailed = 1;
	}
	json_free(&b);
}

/* arch_state - the message's state; rules evaluated on first use */
static struct arch_msg *
arch_state(struct mw_msg *m)
{
	const struct arch_conf *ac = m->conf->stage[MW_STAGE_ARCHIVE];
	struct arch_msg *s = m->stage[MW_STAGE_ARCHIVE];
	unsigned i;

	if (s || ac == NULL)
		return s;
	if ((s = calloc(1, sizeof(*s) + ac->nrule)) == NULL)
		return NULL;
	m->stage[MW_STAGE_ARCHIVE] = s;
	for (i = 0; i < ac->nrule; i++) {
		if ((s->matched[i] = (unsigned char) arch_rule_match(&ac->rule[i], m)) == 0)
			continue;
		s->any = 1;
		if (ac->rule[i].journal && !ac->rule[i].best_effort)
			s->need = ARCH_J_REQUIRED;
		else if (ac->rule[i].journal && s->need == ARCH_J_NONE)
			s->need = ARCH_J_BEST_EFFORT;
	}
	if (s->need != ARCH_J_NONE)
		arch_journal_open(m, s, ac);
	return s;
}

/* arch_nomem - out of memory: refuse if a journal may be required */
static int
arch_nomem(struct mw_msg *m, struct mw_reply *r)
{
	const struct arch_conf *ac = m->conf->stage[MW_STAGE_ARCHIVE];

	msg_note(m, "archive=error (out of memory)");
	if (ac->journal_required) {
		reply_set(r, MW_TEMPFAIL, "451", "4.3.0",
			  "Message could not be archived, please try again later");
		return 0;
	}
	return -1;
}

/* arch_eoh - the envelope is complete: evaluate the rules, start the entry */
static int
arch_eoh(struct mw_msg *m, struct mw_reply *r)
{
	if (m->conf->stage[MW_STAGE_ARCHIVE] && arch_state(m) == NULL)
		return arch_nomem(m, r);
	return 0;
}

/* arch_body - stream a body chunk into the entry */
static int
arch_body(struct mw_msg *m, const unsigned char *p, size_t n, struct mw_reply *r)
{
	struct arch_msg *s;

	if (m->conf->stage[MW_STAGE_ARCHIVE] == NULL)
		return 0;
	if ((s = arch_state(m)) == NULL)
		return arch_nomem(m, r);
	if (s->j && !s->jfailed
	    && journal_write(s->j, p, n, s->jerr, sizeof(s->jerr)) < 0)
		s->jfailed = 1;		/* answered at end of message */
	return 0;
}

/* arch_addrcpt - add the archive recipients; the list in bcc, count in *n */
static int
arch_addrcpt(struct mw_msg *m, const struct arch_msg *s, const char **bcc, unsigned *n)
{
	const struct arch_conf *ac = m->conf->stage[MW_STAGE_ARCHIVE];
	char	rcpt[MW_MAX_ADDR + 3];
	unsigned i;

	*n = arch_bcc_list(ac, s->matched, m, bcc, ac->nbcc);
	for (i = 0; i < *n; i++) {
		snprintf(rcpt, sizeof(rcpt), "<%s>", bcc[i]);
		if (msg_addrcpt(m, rcpt) < 0) {
			msg_note(m, "archive=error (cannot add recipient %s)", bcc[i]);
			return -1;
		}
	}
	if (*n)
		msg_note(m, "archive-bcc=%u", *n);
	return 0;
}

/* arch_commit - finish the entry: message, envelope record, index */
static int
arch_commit(struct mw_msg *m, struct arch_msg *s, const char **bcc, unsigned n,
	    struct jindex_rec *ir)
{
	const struct arch_conf *ac = m->conf->stage[MW_STAGE_ARCHIVE];
	struct arch_record rec = {0};
	struct json_buf b;
	char	hex[65], file[128];
	int	rc = -1;

	if (journal_finish(s->j, hex, &rec.size, s->jerr, sizeof(s->jerr)) < 0)
		return -1;
	snprintf(file, sizeof(file), "%s.eml", journal_base(s->j));
	rec.entry = journal_entry(s->j);
	rec.file = file;
	rec.sha256 = hex;
	rec.time = time(NULL);
	rec.bcc = bcc;
	rec.nbcc = n;
	rec.matched = s->matched;
	json_init(&b);
	arch_record_json(&b, ac, m, &rec);
	if (b.oom)
		snprintf(s->jerr, sizeof(s->jerr), "out of memory");
	else
		rc = journal_commit(s->j, b.p, b.len, ir, s->jerr, sizeof(s->jerr));
	json_free(&b);
	return rc;
}

/* arch_journal - write the entry; refuse the message if it was required */
static void
arch_journal(struct mw_msg *m, struct arch_msg *s, const char **bcc, unsigned n,
	     struct mw_reply *r)
{
	struct jindex_rec ir;

	if (!s->jfailed && arch_commit(m, s, bcc, n, &ir) == 0) {
		msg_note(m, "journal=%s seq=%llu chain=%.16s", ir.entry, ir.seq, ir.chain);
		return;
	}
	if (s->need == ARCH_J_BEST_EFFORT) {
		msg_note(m, "journal=failed, accepted (best_effort): %s", s->jerr);
		return;
	}
	msg_note(m, "journal=failed: %s", s->jerr);
	reply_set(r, MW_TEMPFAIL, "451", "4.3.0",
		  "Message could not be archived, please try again later");
}

/* arch_eom - end of message: BCC copies, then the journal entry */
static int
arch_eom(struct mw_msg *m, struct mw_reply *r)
{
	const struct arch_conf *ac = m->conf->stage[MW_STAGE_ARCHIVE];
	struct arch_msg *s;
	const char **bcc;
	unsigned n = 0;
	int	rc = 0;

	if (ac == NULL)
		return 0;
	if ((s = arch_state(m)) == NULL
	    || (bcc = calloc(ac->nbcc + 1, sizeof(*bcc))) == NULL)
		return arch_nomem(m, r);
	if (s->any)
		msg_note(m, "archive=matched");
	if (s->any && arch_addrcpt(m, s, bcc, &n) < 0)
		rc = -1;
	else if (s->need != ARCH_J_NONE)
		arch_journal(m, s, bcc, n, r);
	free(bcc);
	return rc;
}

/* arch_msg_end - drop the message's state; an unfinished entry is removed */
static void
arch_msg_end(struct mw_msg *m)
{
	struct arch_msg *s = m->stage[MW_STAGE_ARCHIVE];

	if (s == NULL)
		return;
	journal_free(s->j);
	free(s);
	m->stage[MW_STAGE_ARCHIVE] = NULL;
}

const struct mw_stage stage_archive = {
	.name = "archive",
	.conf_load = arch_conf_load,
	.conf_free = arch_conf_free,
	.eoh = arch_eoh,
	.body = arch_body,
	.eom = arch_eom,
	.msg_end = arch_msg_end,
};
