/*
 * NAME
 *	pipeline.c - hand each SMTP stage to the stage modules in turn
 * DESCRIPTION
 *	pipeline_stages[] lists the modules in the order they run. For each
 *	milter event the pipeline calls that hook of every module that has
 *	one, until a module decides (a verdict other than MW_CONTINUE) or
 *	fails. A failure (-1) becomes the configured on_error answer:
 *
 *	tempfail  451 4.3.0 for the message; the sender retries.
 *	accept	  the failed module is switched off for the rest of this
 *		  message (logged), and the others go on: a signing failure
 *		  leaves the message unsigned, but an archive rule still
 *		  archives it or tempfails it. Accepting outright would skip
 *		  the later modules, archiving among them.
 */
#include "autoconf.h"

#include <stddef.h>

#include "mailwarden.h"
#include "config.h"

extern const struct mw_stage stage_archive;
extern const struct mw_stage stage_inbound;
extern const struct mw_stage stage_ratelimit;
extern const struct mw_stage stage_sign;

/* Modules register here; a NULL entry is a feature not built in. */
const struct mw_stage *const pipeline_stages[MW_STAGE_COUNT] = {
	[MW_STAGE_RATELIMIT] = &stage_ratelimit,
	[MW_STAGE_INBOUND] = &stage_inbound,
	[MW_STAGE_SIGN] = &stage_sign,
	[MW_STAGE_ARCHIVE] = &stage_archive,
};

/* The table the dispatch uses; unit tests put their own in its place. */
static const struct mw_stage *const *table = pipeline_stages;

/* pipeline_use - dispatch to another table (tests); NULL: the real one */
void
pipeline_use(const struct mw_stage *const *t)
{
	table = t ? t : pipeline_stages;
}

/* on_error - an internal failure of stage i; 1 when dispatch must stop */
static int
on_error(struct mw_msg *m, unsigned i, struct mw_reply *r)
{
	m->failed = 1;
	if (m->conf->on_error == MW_ONERR_ACCEPT) {
		m->stage_off |= 1u << i;
		msg_note(m, "error=%s (stage off, on_error=accept)", table[i]->name);
		r->verdict = MW_CONTINUE;
		return 0;
	}
	msg_note(m, "error=%s", table[i]->name);
	reply_set(r, MW_TEMPFAIL, "451", "4.3.0",
		  "Temporary local problem, please try again later");
	return 1;
}

/*
 * Each event has the same shape: for every module with that hook, call
 * it; stop at the first decision, or at a failure when on_error says so.
 */
#define PIPELINE_RUN(hook, ...) do { \
	unsigned i; \
	int	rc = 0; \
	r->verdict = MW_CONTINUE; \
	for (i = 0; i < MW_STAGE_COUNT; i++) { \
		const struct mw_stage *st = table[i]; \
		if (st == NULL || st->hook == NULL || (m->stage_off & (1u << i))) \
			continue; \
		if (st->hook(__VA_ARGS__) < 0) { \
			rc = -1; \
			if (on_error(m, i, r)) \
				return rc; \
		} \
		if (r->verdict != MW_CONTINUE) \
			return rc; \
	} \
	return rc; \
} while (0)

/* pipeline_mail - MAIL FROM */
int
pipeline_mail(struct mw_msg *m, struct mw_reply *r)
{
	PIPELINE_RUN(mail, m, r);
}

/* pipeline_rcpt - one RCPT TO */
int
pipeline_rcpt(struct mw_msg *m, const char *rcpt, struct mw_reply *r)
{
	PIPELINE_RUN(rcpt, m, rcpt, r);
}

/* pipeline_header - one header */
int
pipeline_header(struct mw_msg *m, const char *name, const char *value,
		struct mw_reply *r)
{
	PIPELINE_RUN(header, m, name, value, r);
}

/* pipeline_eoh - end of headers */
int
pipeline_eoh(struct mw_msg *m, struct mw_reply *r)
{
	PIPELINE_RUN(eoh, m, r);
}

/* pipeline_body - one body chunk */
int
pipeline_body(struct mw_msg *m, const unsigned char *p, size_t len,
	      struct mw_reply *r)
{
	PIPELINE_RUN(body, m, p, len, r);
}

/* pipeline_eom - end of message */
int
pipeline_eom(struct mw_msg *m, struct mw_reply *r)
{
	PIPELINE_RUN(eom, m, r);
}

/* pipeline_msg_end - every module frees its per-message state */
void
pipeline_msg_end(struct mw_msg *m)
{
	unsigned i;

	for (i = 0; i < MW_STAGE_COUNT; i++)
		if (table[i] && table[i]->msg_end)
			table[i]->msg_end(m);
}
