/*
 * NAME
 *	archive_conf.c - the archive rules of a configuration snapshot
 * DESCRIPTION
 *	Reads journal_dir and every archive "NAME" { ... } section into a
 *	struct arch_conf (archive.h). A rule that neither copies nor
 *	journals is an error. When a rule journals, journal_dir is checked
 *	now, once per snapshot: an absolute path to an existing directory
 *	that the run-as user can write, on a writable file system, and its
 *	writer (the group commit queue, jwriter.h) is made. Errors carry the
 *	file and line of the option or section.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "config.h"
#include "journal.h"

/* arch_list - a list option as an array of pointers into the cfg tree */
static int
arch_list(cfg_t *sec, const char *opt, const char ***out, unsigned *n)
{
	unsigned i, k = cfg_size(sec, opt);

	*out = NULL;
	*n = 0;
	if (k == 0)
		return 0;
	if ((*out = calloc(k, sizeof(**out))) == NULL)
		return -1;
	for (i = 0; i < k; i++)
		(*out)[i] = cfg_getnstr(sec, opt, i);
	*n = k;
	return 0;
}

/* arch_rule_load - one archive section */
static int
arch_rule_load(cfg_t *sec, struct arch_rule *r)
{
	int	dir = conf_enum(sec, "direction");

	r->name = cfg_title(sec);
	r->dir = dir == 0 ? ARCH_DIR_INBOUND : dir == 1 ? ARCH_DIR_OUTBOUND : ARCH_DIR_BOTH;
	r->journal = cfg_getbool(sec, "journal") == cfg_true;
	r->best_effort = cfg_getbool(sec, "best_effort") == cfg_true;
	if (arch_list(sec, "sender_domains", &r->sender_domains, &r->nsender) < 0
	    || arch_list(sec, "recipient_domains", &r->rcpt_domains, &r->nrcpt) < 0
	    || arch_list(sec, "sasl_users", &r->users, &r->nusers) < 0
	    || arch_list(sec, "bcc", &r->bcc, &r->nbcc) < 0)
		return -1;
	if (r->nbcc == 0 && !r->journal) {
		conf_error(sec, "archive \"%s\" does nothing: give bcc addresses, "
			   "journal = yes, or both", r->name);
		return -1;
	}
	return 0;
}

/* arch_dir_load - check journal_dir when some rule journals */
static int
arch_dir_load(cfg_t *cfg, const struct mw_conf *conf, struct arch_conf *ac, cfg_t *first)
{
	char	err[512];
	cfg_opt_t *opt = cfg_getopt(cfg, "journal_dir");

	if (journal_dir_check(ac->journal_dir, conf->user, conf->group, err, sizeof(err)) == 0)
		return 0;
	if (opt && (opt->flags & CFGF_MODIFIED))
		conf_error_opt("journal_dir", "%s", err);
	else
		conf_error(first, "archive \"%s\": journal = yes, but journal_dir "
			   "(default %s): %s", cfg_title(first), ac->journal_dir, err);
	return -1;
}

/* arch_conf_free - release the rules; NULL is fine */
void
arch_conf_free(void *data)
{
	struct arch_conf *ac = data;
	unsigned i;

	if (ac == NULL)
		return;
	for (i = 0; i < ac->nrule; i++) {
		free(ac->rule[i].sender_domains);
		free(ac->rule[i].rcpt_domains);
		free(ac->rule[i].users);
		free(ac->rule[i].bcc);
	}
	free(ac->rule);
	jwriter_free(ac->writer);
	free(ac);
}

/* arch_conf_load - the archive part of a snapshot; NULL data when no rule */
int
arch_conf_load(cfg_t *cfg, struct mw_conf *conf, void **data)
{
	struct arch_conf *ac;
	cfg_t  *first = NULL;
	unsigned i, n = cfg_size(cfg, "archive");
	int	rc = 0;

	*data = NULL;
	if (n == 0)
		return 0;
	if ((ac = calloc(1, sizeof(*ac))) == NULL
	    || (ac->rule = calloc(n, sizeof(*ac->rule))) == NULL) {
		free(ac);
		return -1;
	}
	ac->journal_dir = cfg_getstr(cfg, "journal_dir");
	for (i = 0; i < n; i++, ac->nrule++) {
		cfg_t  *sec = cfg_getnsec(cfg, "archive", i);
		struct arch_rule *r = &ac->rule[i];

		if (arch_rule_load(sec, r) < 0)
			rc = -1;
		ac->nbcc += r->nbcc;
		if (r->journal && first == NULL)
			first = sec;
		if (r->journal && !r->best_effort)
			ac->journal_required = 1;
	}
	if (rc == 0 && first && arch_dir_load(cfg, conf, ac, first) < 0)
		rc = -1;
	if (rc == 0 && first && (ac->writer = jwriter_new(ac->journal_dir)) == NULL)
		rc = -1;
	if (rc < 0)
		arch_conf_free(ac);
	else
		*data = ac;
	return rc;
}
