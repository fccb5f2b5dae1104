/*
 * NAME
 *	pipeline.c - hand each SMTP stage to the stage modules in turn
 * DESCRIPTION
 *	pipeline_stages[] lists the modules in the order they run. For each
 *	milter event the pipeline calls that hook of every module that has
 *	one, until a module decides (a verdict other than MW_CONTINUE) or
 *	fails. A failure (-1) becomes the configured on_error answer: a
 *	temporary failure, or acceptance of the message as it is.
 */
#include "autoconf.h"

#include <stddef.h>

#include "mailwarden.h"
#include "config.h"

extern const struct mw_stage stage_archive;
extern const struct mw_stage stage_inbound;
extern const struct mw_stage stage_ratelimit;

/* Modules register here; a NULL entry is a feature not built in. */
const struct mw_stage *const pipeline_stages[MW_STAGE_COUNT] = {
	[MW_STAGE_RATELIMIT] = &stage_ratelimit,
	[MW_STAGE_INBOUND] = &stage_inbound,
	[MW_STAGE_SIGN] = NULL,
	[MW_STAGE_ARCHIVE] = &stage_archive,
};

/* on_error - turn an internal failure into the configured answer */
static int
on_error(struct mw_msg *m, const struct mw_stage *st, struct mw_reply *r)
{
	m->failed = 1;
	msg_note(m, "error=%s", st->name);
	if (m->conf->on_error == MW_ONERR_ACCEPT)
		reply_set(r, MW_ACCEPT, NULL, NULL, "accepted after internal error");
	else
		reply_set(r, MW_TEMPFAIL, "451", "4.3.0",
			  "Temporary local problem, please try again later");
	return -1;
}

/*
 * Each event has the same shape: for every module with that hook, call
 * it; stop at the first failure or decision.
 */
#define PIPELINE_RUN(hook, ...) do { \
	unsigned i; \
	r->verdict = MW_CONTINUE; \
	for (i = 0; i < MW_STAGE_COUNT; i++) { \
		const struct mw_stage *st = pipeline_stages[i]; \
		if (st == NULL || st->hook == NULL) \
			continue; \
		if (st->hook(__VA_ARGS__) < 0) \
			return on_error(m, st, r); \
		if (r->verdict != MW_CONTINUE) \
			return 0; \
	} \
	return 0; \
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
		if (pipeline_stages[i] && pipeline_stages[i]->msg_end)
			pipeline_stages[i]->msg_end(m);
}
