/*
 * NAME
 *	log.c - logging to syslog or stderr
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int use_stderr;
static pthread_mutex_t stderr_lock = PTHREAD_MUTEX_INITIALIZER;

/* log_open - start logging; syslog with facility, or stderr */
void
log_open(int facility, int to_stderr)
{
	use_stderr = to_stderr;
	if (!to_stderr) {
		closelog();
		openlog("mailwarden", LOG_PID | LOG_NDELAY, facility);
	}
}

/* mw_log - one log line; the text says "error:", "warning:" as Postfix does */
void
mw_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (use_stderr) {
		char	line[4096];

		vsnprintf(line, sizeof(line), fmt, ap);
		pthread_mutex_lock(&stderr_lock);
		fprintf(stderr, "mailwarden: %s\n", line);
		fflush(stderr);
		pthread_mutex_unlock(&stderr_lock);
	} else {
		vsyslog(prio, fmt, ap);
	}
	va_end(ap);
}

/* log_clean - bounded, printable copy of untrusted text */
char   *
log_clean(char *dst, size_t dstlen, const char *src)
{
	size_t	i;

	if (dstlen == 0)
		return dst;
	for (i = 0; src && src[i] && i + 1 < dstlen; i++)
		dst[i] = (src[i] >= 32 && src[i] < 127) ? src[i] : '?';
	dst[i] = 0;
	return dst;
}
