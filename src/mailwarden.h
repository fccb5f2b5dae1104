/*
 * NAME
 *	mailwarden.h - shared types of the mailwarden milter
 * SYNOPSIS
 *	#include "mailwarden.h"
 * DESCRIPTION
 *	The connection context (one per SMTP client connection), the message
 *	context (one per transaction, MAIL FROM to end of message or abort),
 *	the verdict a stage returns, and the interface every stage module
 *	(rate limiting, inbound checks, signing, archiving) implements.
 *
 *	Data flows one way: milter.c fills the contexts from the MTA, the
 *	pipeline (pipeline.c) hands them to each stage in turn, and the first
 *	stage that answers something other than "continue" decides.
 */
#ifndef MAILWARDEN_H
#define MAILWARDEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <confuse.h>

#include "cidr.h"

/* Bounds on untrusted input; going past them is a defined outcome. */
#define MW_MAX_HOSTNAME	256		/* client name, HELO */
#define MW_MAX_ADDR	320		/* one envelope address (RFC 5321: 256) */
#define MW_MAX_QID	64		/* MTA queue ID */
#define MW_MAX_USER	256		/* SASL login */
#define MW_MAX_NOTES	2048		/* the per-message log line */

/* Direction of a message: the features key off it. */
enum mw_dir {
	MW_DIR_INBOUND = 0,
	MW_DIR_OUTBOUND = 1,
};

/* What a stage wants done with the message. */
enum mw_verdict {
	MW_CONTINUE = 0,		/* no objection; ask the next stage */
	MW_ACCEPT,			/* accept, skip the remaining stages */
	MW_TEMPFAIL,			/* 4xx */
	MW_REJECT,			/* 5xx */
	MW_DISCARD,			/* accept and drop silently */
};

/* A verdict plus the SMTP reply that goes with it. */
struct mw_reply {
	enum mw_verdict verdict;
	char	rcode[4];		/* "451", "550"; empty: MTA default */
	char	xcode[12];		/* "4.7.1" */
	char	text[256];		/* human-readable reason */
};

/* Values of on_error and similar "what to answer" options. */
enum mw_onerror {
	MW_ONERR_TEMPFAIL = 0,
	MW_ONERR_ACCEPT = 1,
};

/*
 * The stages, in the order the pipeline runs them. Each module keeps its
 * per-message state in msg->stage[id] and its config in conf->stage[id].
 */
enum mw_stage_id {
	MW_STAGE_RATELIMIT = 0,		/* ratelimit.c: MAIL FROM and RCPT TO */
	MW_STAGE_INBOUND,		/* inbound.c: SPF, DKIM verify, DMARC */
	MW_STAGE_SIGN,			/* dkim_sign.c: outbound signatures */
	MW_STAGE_ARCHIVE,		/* archive.c: BCC and journal, last */
	MW_STAGE_COUNT
};
#define MW_STAGE_COUNT_MAX MW_STAGE_COUNT

struct mw_conf;
struct mw_msg;

/*
 * Header as received from the MTA. raw is the value exactly as sent
 * (folding kept, leading space kept when the MTA offers it); value is raw
 * past its leading white space.
 */
struct mw_hdr {
	char   *name;
	char   *raw;
	char   *value;
	struct mw_hdr *next;
};

/* One envelope recipient, as given (angle brackets stripped). */
struct mw_rcpt {
	char   *addr;
	struct mw_rcpt *next;
};

/*
 * Actions at end of message. milter.c binds them to smfi_*; unit tests
 * bind them to a recorder, so the pipeline runs without an MTA.
 */
struct mw_actions {
	int	(*insheader)(void *arg, int idx, const char *name, const char *value);
	int	(*chgheader)(void *arg, const char *name, int idx, const char *value);
	int	(*addrcpt)(void *arg, const char *rcpt);
	int	(*quarantine)(void *arg, const char *reason);
	void   *arg;
};

/* Per-connection state. Freed by conn_free(). */
struct mw_conn {
	struct mw_conf *conf;		/* snapshot taken at connect */
	char	hostname[MW_MAX_HOSTNAME];	/* client name as the MTA saw it */
	char	addr[64];		/* client address, text; "" if none */
	struct sockaddr_storage ss;	/* client address, binary */
	int	has_addr;		/* ss is valid (IPv4 or IPv6) */
	char	helo[MW_MAX_HOSTNAME];
	char	daemon_name[64];	/* {daemon_name}, "" when not sent */
	int	internal;		/* address is in internal_hosts */
	int	leadspc;		/* MTA sends and expects header leading space */
	unsigned long nmsg;		/* transactions on this connection */
	struct mw_msg *msg;		/* the transaction in progress */
};

/* Per-message state. Freed by msg_free(). */
struct mw_msg {
	struct mw_conn *conn;
	struct mw_conf *conf;		/* snapshot taken at MAIL FROM */
	char	qid[MW_MAX_QID];	/* "NOQUEUE" until the MTA names it */
	char	mailfrom[MW_MAX_ADDR];	/* envelope sender, no brackets */
	char	auth_user[MW_MAX_USER];	/* {auth_authen}, "" when none */
	enum mw_dir dir;
	const char *dir_why;		/* "sasl", "internal_hosts", ... */
	struct mw_rcpt *rcpts, **rcpt_tail;
	unsigned nrcpt;
	struct mw_hdr *hdrs, **hdr_tail;
	unsigned nhdrs;
	size_t	hdr_bytes;
	uint64_t body_bytes;
	char   *authres;		/* inbound.c: the Authentication-Results
					 * value it adds, malloc'd (msg_free
					 * frees it); NULL when no checks ran.
					 * archive.c journals it. */
	int	failed;			/* an internal error happened */
	unsigned stage_off;		/* stages switched off after an error */
	int	logged;			/* the log line was written */
	char	action[160];		/* final answer, for the log line */
	char	notes[MW_MAX_NOTES];	/* decisions, for the log line */
	size_t	notes_len;
	int	notes_trunc;
	const struct mw_actions *act;	/* valid at end of message only */
	void   *stage[MW_STAGE_COUNT_MAX];	/* each stage's own state */
};

/*
 * A stage module. Every hook is optional. Hooks return 0, or -1 on an
 * internal failure (after msg_note() of what failed): the pipeline then
 * answers the configured on_error. A hook that decides sets reply->verdict.
 */
struct mw_stage {
	const char *name;
	/* Build this stage's part of a config snapshot; errors via conf_error(). */
	int	(*conf_load)(cfg_t *cfg, struct mw_conf *conf, void **data);
	void	(*conf_free)(void *data);
	int	(*mail)(struct mw_msg *, struct mw_reply *);
	int	(*rcpt)(struct mw_msg *, const char *rcpt, struct mw_reply *);
	int	(*header)(struct mw_msg *, const char *name, const char *value,
			  struct mw_reply *);
	int	(*eoh)(struct mw_msg *, struct mw_reply *);
	int	(*body)(struct mw_msg *, const unsigned char *, size_t,
			struct mw_reply *);
	int	(*eom)(struct mw_msg *, struct mw_reply *);
	/* Free the stage's per-message state; safe to call twice. */
	void	(*msg_end)(struct mw_msg *);
};

/* msg.c */
struct mw_msg *msg_new(struct mw_conn *);
void	msg_free(struct mw_msg *);
int	msg_add_rcpt(struct mw_msg *, const char *);
int	msg_add_header(struct mw_msg *, const char *, const char *);
void	msg_note(struct mw_msg *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
const char *msg_header(const struct mw_msg *, const char *, int);
void	conn_free(struct mw_conn *);
const char *dir_name(enum mw_dir);
void	reply_set(struct mw_reply *, enum mw_verdict, const char *,
		  const char *, const char *, ...)
	    __attribute__((format(printf, 5, 6)));

/* Actions at end of message, through msg->act. */
int	msg_insheader(struct mw_msg *, int, const char *, const char *);
int	msg_chgheader(struct mw_msg *, const char *, int, const char *);
int	msg_addrcpt(struct mw_msg *, const char *);
int	msg_quarantine(struct mw_msg *, const char *);

/* direction.c */
enum mw_dir direction_of(const struct mw_conf *, const struct mw_conn *,
			 const char *auth_user, const char **why);

/* pipeline.c */
extern const struct mw_stage *const pipeline_stages[MW_STAGE_COUNT];
int	pipeline_mail(struct mw_msg *, struct mw_reply *);
int	pipeline_rcpt(struct mw_msg *, const char *, struct mw_reply *);
int	pipeline_header(struct mw_msg *, const char *, const char *,
			struct mw_reply *);
int	pipeline_eoh(struct mw_msg *, struct mw_reply *);
int	pipeline_body(struct mw_msg *, const unsigned char *, size_t,
		      struct mw_reply *);
int	pipeline_eom(struct mw_msg *, struct mw_reply *);
void	pipeline_msg_end(struct mw_msg *);
void	pipeline_use(const struct mw_stage *const *);

#endif
