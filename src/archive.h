/*
 * NAME
 *	archive.h - compliance archiving: BCC copies and the journal
 * SYNOPSIS
 *	#include "archive.h"
 * DESCRIPTION
 *	The archive stage (stage_archive) and the parts of it the unit
 *	tests call: rule matching, the de-duplicated BCC list and the JSON
 *	envelope record.
 */
#ifndef MW_ARCHIVE_H
#define MW_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mailwarden.h"
#include "json.h"

enum arch_dir {
	ARCH_DIR_INBOUND = 0,
	ARCH_DIR_OUTBOUND = 1,
	ARCH_DIR_BOTH = 2,
};

/* One archive "NAME" { ... } section. Strings point into the cfg tree. */
struct arch_rule {
	const char *name;
	enum arch_dir dir;
	const char **sender_domains;
	unsigned nsender;
	const char **rcpt_domains;
	unsigned nrcpt;
	const char **users;
	unsigned nusers;
	const char **bcc;
	unsigned nbcc;
	int	journal;
	int	best_effort;
};

struct jwriter;

struct arch_conf {
	const char *journal_dir;
	struct jwriter *writer;		/* journal_dir's group commit, if journaled */
	struct arch_rule *rule;
	unsigned nrule;
	unsigned nbcc;			/* BCC addresses over all rules */
	int	journal_required;	/* a journal rule is not best_effort */
};

/* What the journal record says besides the message itself. */
struct arch_record {
	const char *entry;		/* DAY/BASE */
	const char *file;		/* BASE.eml */
	const char *sha256;
	uint64_t size;
	time_t	time;
	const char **bcc;		/* archive addresses added */
	unsigned nbcc;
	const unsigned char *matched;	/* per rule: 1 if it matched */
};

extern const struct mw_stage stage_archive;

/* archive_conf.c */
int	arch_conf_load(cfg_t *, struct mw_conf *, void **);
void	arch_conf_free(void *);

int	arch_rule_match(const struct arch_rule *, const struct mw_msg *);
unsigned arch_bcc_list(const struct arch_conf *, const unsigned char *matched,
		       const struct mw_msg *, const char **out, unsigned max);
void	arch_record_json(struct json_buf *, const struct arch_conf *,
			 const struct mw_msg *, const struct arch_record *);

#endif
