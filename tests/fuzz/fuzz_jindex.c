/*
 * fuzz_jindex - libFuzzer target: the journal index (jindex.c) and its
 * checker (jverify.c), on index contents an attacker with write access
 * to the journal could leave behind.
 *
 * The input is an index file. Checks beside the sanitizers: a line that
 * parses formats back to exactly itself (no two spellings of one line,
 * so any edit breaks the hash chain); the last line of the file, as the
 * writer reads it before appending, fits its JINDEX_MAX_LINE + 1 buffer;
 * mailwarden-archive verify's checker runs to the end on the file as the
 * index of an otherwise empty journal, and reports a problem whenever the
 * file is not empty.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jindex.h"
#include "jverify.h"

#include "fuzz.h"

static char dir[64];

/* each_line - parse every complete line; round trip when it parses */
static void
each_line(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *nl;
	struct jindex_rec r;
	char	err[128], out[JINDEX_MAX_LINE + 1];
	int	n;

	while ((nl = memchr(p, '\n', (size_t) (data + size - p))) != NULL) {
		size_t	len = (size_t) (nl + 1 - p);

		if (jindex_parse((const char *) p, len, &r, err, sizeof(err)) == 0) {
			n = jindex_format(&r, out, sizeof(out));
			FUZZ_ASSERT(n > 0 && (size_t) n == len && memcmp(out, p, len) == 0);
		}
		p = nl + 1;
	}
}

/* ignore - a problem report */
static void
ignore(void *arg, const char *entry, const char *what)
{
	(void) entry;
	(void) what;
	(*(unsigned *) arg)++;
}

/* as_index - the input as DIR/index: the writer's tail read, the checker */
static void
as_index(const uint8_t *data, size_t size)
{
	char	path[128], err[256], *line;
	struct jverify_result res;
	size_t	linelen;
	unsigned reports = 0;
	off_t	fsize;
	int	fd;

	if (!*dir) {
		snprintf(dir, sizeof(dir), "%s/mwfuzzjXXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		FUZZ_ASSERT(mkdtemp(dir) != NULL);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, JINDEX_FILE);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	FUZZ_ASSERT(fd >= 0 && write(fd, data, size) == (ssize_t) size);
	/* Exactly the size jindex_append gives it: overruns are caught. */
	line = malloc(JINDEX_MAX_LINE + 1);
	FUZZ_ASSERT(line != NULL);
	if (jindex_tail(fd, line, &linelen, &fsize, err, sizeof(err)) == 0)
		FUZZ_ASSERT(linelen <= JINDEX_MAX_LINE && fsize == (off_t) size);
	free(line);
	close(fd);
	FUZZ_ASSERT(jverify_dir(dir, ignore, &reports, &res, err, sizeof(err)) == 0);
	FUZZ_ASSERT(reports == res.problems);
	if (size > 0)
		FUZZ_ASSERT(res.problems > 0);	/* no entry file exists */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	each_line(data, size);
	as_index(data, size);
	return 0;
}
