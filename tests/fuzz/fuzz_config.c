/*
 * fuzz_config - libFuzzer target: the configuration parser (config.c,
 * options.c, each stage's conf_load, and libconfuse under them).
 *
 * The input is a configuration file. Checks beside the sanitizers: a
 * file either loads (a snapshot, no errors) or yields at least one error,
 * every error names the file (and, when it has one, a line within the
 * file), and errors come in line order. The file is written to a private
 * directory; run the target as an unprivileged user when the corpus may
 * name real paths (tests/fuzz/run.sh does).
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#include "fuzz.h"

static char path[128];

/* lines_of - the number of lines of the input */
static int
lines_of(const uint8_t *data, size_t size)
{
	int	n = 1;
	size_t	i;

	for (i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

/* check_errors - file name, line within the file, line order */
static void
check_errors(const struct conf_errors *e, int nlines)
{
	size_t	plen = strlen(path);
	unsigned i;

	for (i = 0; i < e->n; i++) {
		FUZZ_ASSERT(strncmp(e->msg[i], path, plen) == 0 && e->msg[i][plen] == ':');
		FUZZ_ASSERT(e->line[i] <= nlines);
		if (i > 0)
			FUZZ_ASSERT(e->line[i - 1] <= e->line[i]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors e;
	struct mw_conf *c;
	int	fd;

	if (!*path) {
		char	dir[96];

		snprintf(dir, sizeof(dir), "%s/mwfuzzcXXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		FUZZ_ASSERT(mkdtemp(dir) != NULL);
		snprintf(path, sizeof(path), "%s/mailwarden.conf", dir);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FUZZ_ASSERT(fd >= 0 && write(fd, data, size) == (ssize_t) size);
	close(fd);
	c = conf_load(path, &e);
	FUZZ_ASSERT((c == NULL) == (e.n > 0));
	check_errors(&e, lines_of(data, size));
	conf_errors_free(&e);
	conf_release(c);
	return 0;
}
