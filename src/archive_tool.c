/*
 * NAME
 *	mailwarden-archive - check the archive journal
 * SYNOPSIS
 *	mailwarden-archive verify [-q] DIR
 * DESCRIPTION
 *	verify checks the journal in DIR against its hash-chained index
 *	(jverify.c) and prints one line per problem, naming the entry:
 *
 *	    DAY/BASE: changed: DAY/BASE.eml does not match the SHA-256 ...
 *
 *	then a summary with the number of entries and the chain hash of the
 *	last index line (keep it elsewhere: it anchors the whole journal).
 *	-q prints the problems only. Exit status: 0 when the journal is
 *	intact, 1 when something was changed, removed, reordered or added,
 *	2 when the check could not run, 64 on a usage error.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "jverify.h"

/* clean - printable ASCII for the terminal; file names are untrusted */
static const char *
clean(const char *s, char *out, size_t len)
{
	size_t	i;

	for (i = 0; s[i] && i + 1 < len; i++)
		out[i] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
	out[i] = 0;
	return out;
}

/* report - one problem, one line */
static void
report(void *arg, const char *entry, const char *what)
{
	char	e[300], w[600];

	(void) arg;
	printf("%s: %s\n", clean(entry, e, sizeof(e)), clean(what, w, sizeof(w)));
}

/* usage - how to call */
static int
usage(void)
{
	fprintf(stderr, "usage: mailwarden-archive verify [-q] DIR\n");
	return EX_USAGE;
}

/* verify - the verify command */
static int
verify(const char *dir, int quiet)
{
	struct jverify_result res;
	char	err[512];

	if (jverify_dir(dir, report, NULL, &res, err, sizeof(err)) < 0) {
		fprintf(stderr, "mailwarden-archive: %s\n", err);
		return 2;
	}
	if (!quiet) {
		printf("%s: %llu entries, last sequence %llu, %lu problem%s%s%s\n",
		       dir, res.entries, res.last_seq, res.problems,
		       res.problems == 1 ? "" : "s", *res.head ? ", head " : "", res.head);
		if (res.stale_tmp)
			printf("%s: %lu file%s in tmp/ (messages that were never accepted)\n",
			       dir, res.stale_tmp, res.stale_tmp == 1 ? "" : "s");
	}
	return res.problems ? 1 : 0;
}

int
main(int argc, char **argv)
{
	int	ch, quiet = 0;

	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		return usage();
	optind = 2;
	while ((ch = getopt(argc, argv, "q")) != -1) {
		if (ch != 'q')
			return usage();
		quiet = 1;
	}
	if (optind != argc - 1)
		return usage();
	return verify(argv[optind], quiet);
}
